"""Evaluation of the whole path from a labelled page to the index, per handwritten field."""
