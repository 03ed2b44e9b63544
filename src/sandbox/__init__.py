"""The sandbox: the only process where the submission's code runs (``server``), the calls it
makes on the submission (``calls``), and how each child is confined (``confine``). It imports
nothing of the judge's."""
