"""The sandbox: the only process where the submission's code runs (``server``), the calls it
makes on the submission (``calls``), how each child is confined (``confine``), and the one
module the judge imports of it, the messages (``protocol``). Its contract with the judge is
``CONTRACT.md`` beside this file. It imports nothing of the judge's."""
