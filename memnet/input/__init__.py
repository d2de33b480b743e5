"""I, the input feature map: text -> `Sentence`s (paper §3, "I: input feature map").

`clean` is the front every I reads text through (normalise, cut long text into parser-sized
pieces, name what is refused); `sentence` holds the contract and the simplest I; `spacy_input`
the spaCy I (segmentation, lemmas, statement vs question); `coref` resolves pronouns over a
conversation; `segmenter` is appendix B's learned segmenter. Importing this package does not load spaCy.
"""
