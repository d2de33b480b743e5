"""I's pipeline runs on `ServingOps` (weights kept transposed for OpenBLAS): the parses must be
the ones thinc's own numpy backend gives."""
import spacy
from thinc.api import use_ops

from memnet.input.spacy_input import MODEL, ServingOps, load_nlp

TEXTS = [
    "Where is the milk?",
    "John went to the kitchen. He picked up the milk.",
    "Mary's in the garden and Sam went home afterwards.",
    "Will went to the garden. May went to the kitchen. Will picked up the apple.",
    "The triangle is above the pink rectangle. Is the red square to the left of the triangle?",
    "Anika travelled to the greenhouse, then she dropped the kettle.",
    " ".join(f"Person{i} moved to the room{i % 7}." for i in range(60)),   # a long paste: many rows per product
]


def analyses(nlp, texts):
    return [[(t.text, t.tag_, t.pos_, t.dep_, t.head.i, t.lemma_, t.is_sent_start) for t in doc] for doc in nlp.pipe(texts)]


def test_serving_ops_parse_as_thinc_numpy_ops():
    nlp = load_nlp()
    assert isinstance(nlp.get_pipe("tok2vec").model.ops, ServingOps)
    with use_ops("numpy", use_blis=False):
        plain = spacy.load(MODEL, disable=["ner"], exclude=["memnet_boundaries"])
    plain.add_pipe("memnet_boundaries", before="parser")
    plain.add_pipe("memnet_names", before="lemmatizer")
    assert plain.pipe_names == nlp.pipe_names[:-1]   # all but memnet_clauses, which only reads the parse
    assert analyses(nlp, TEXTS) == analyses(plain, TEXTS)
    assert nlp.get_pipe("tok2vec").model.ops._transposed   # the products did go through the kept copies
