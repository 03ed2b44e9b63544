"""common/blocks.py: the START/END blocks are read in every spelling a student, the course or
the problem set uses, written in ours, and nothing else is taken for a block."""

import unittest

from common.blocks import BLOCK, block, line_spans, with_bodies

SPELLINGS = [
    ("### START CODE HERE ###", "### END CODE HERE ###"),  # ours
    ("# START CODE HERE", "# END CODE HERE"),  # the course's starter
    ("### START_CODE_HERE ###", "### END_CODE_HERE ###"),  # the problem set's
    ("#START CODE HERE#", "##  END CODE HERE  ##  "),  # reformatted
]
OURS = "def f():\n    ### START CODE HERE ###\n    pass\n    ### END CODE HERE ###\n"


class BlocksTest(unittest.TestCase):
    def test_every_spelling_is_read_and_ours_is_written(self):
        for start, end in SPELLINGS:
            with self.subTest(start=start):
                source = f"def f():\n    {start}\n    x = 1\n\n    return x\n    {end}\n"
                self.assertEqual(line_spans(source), [(1, 5)])
                self.assertEqual(with_bodies(source, lambda match: "pass"), OURS)

    def test_the_code_of_a_block_is_its_own(self):
        """with_bodies hands each block's match, its lines, to the function that writes it."""
        source = "a\n  # START CODE HERE\n  x = 1\n  # END CODE HERE\nb\n"
        self.assertEqual(with_bodies(source, lambda match: match[0].split("\n")[1].strip() + "0"),
                         "a\n  ### START CODE HERE ###\n  x = 10\n  ### END CODE HERE ###\nb\n")

    def test_what_is_not_a_block(self):
        """A START with no END before the next START opens none; an END with no START, a
        marker after code on its line and a misspelt marker are given code."""
        sources = {
            "### START CODE HERE ###\nx\n### START CODE HERE ###\ny\n### END CODE HERE ###":
                [(2, 4)],
            "x\n### END CODE HERE ###\n### START CODE HERE ###\ny": [],
            "### START CODE HERE ###\nx = 1  ### END CODE HERE ###\ny": [],
            "x = 0  ### START CODE HERE ###\nx = 1\n### END CODE HERE ###": [],
            "### START CODE THERE ###\nx\n### END CODE HERE ###": [],
            "### start code here ###\nx\n### end code here ###": [],
        }
        for source, spans in sources.items():
            with self.subTest(source=source):
                self.assertEqual(line_spans(source), spans)
                self.assertEqual(len(BLOCK.findall(source)), len(spans))

    def test_lines_are_counted_across_blocks(self):
        source = ("import x\n### START CODE HERE ###\n### END CODE HERE ###\n\n"
                  "    # START CODE HERE\n    a\n    b\n    # END CODE HERE\n"
                  "### START CODE HERE ###\nc\n### END CODE HERE ###")
        self.assertEqual(line_spans(source), [(1, 2), (4, 7), (8, 10)])

    def test_a_written_block_indents_every_line_but_an_empty_one(self):
        self.assertEqual(block("  ", "a = 1\n\nif a:\n    b = 2\n"),
                         "  ### START CODE HERE ###\n  a = 1\n\n  if a:\n      b = 2\n"
                         "  ### END CODE HERE ###")


if __name__ == "__main__":
    unittest.main()
