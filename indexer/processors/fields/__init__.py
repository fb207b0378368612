"""Form fields: the printed label beside each handwriting box gives it its kind, type and key.

`FindLabels` runs after the page OCR (labels are print) and before the handwriting is read (the
type is the reader's hint); `ExtractFields` runs after the entities and builds `page.fields`.
"""

from indexer.processors.fields.extract import ExtractFields, field_of
from indexer.processors.fields.find import SURE_SIGNATURE_SCORE, FindLabels, decide_kind
from indexer.processors.fields.labels import classify, find_label, printed_words

__all__ = [
    "SURE_SIGNATURE_SCORE",
    "ExtractFields",
    "FindLabels",
    "classify",
    "decide_kind",
    "field_of",
    "find_label",
    "printed_words",
]
