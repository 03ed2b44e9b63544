"""Helpers every side uses: safe text for anything a submission may have written."""
