import torch

from memnet.features import MAX_HOPS, UNK, FeatureLayout, Vocabulary, occurs_in


def test_vocabulary_keeps_list_answers_as_phrases():
    vocab = Vocabulary.build([["john", "went", "home"]], ["home", "apple,football", "n,w"])
    assert vocab.words[:2] == ["<pad>", "<unk>"] and "home" in vocab.words
    assert vocab.phrases == ["apple,football", "n,w"]
    assert vocab.answer_column("n,w") == len(vocab) + 1
    assert vocab.answer_column("mordor") is None
    ids, keys = vocab.encode(["john", "mordor"])
    assert ids[1] == UNK and keys[1] != 0


def test_layout_has_three_word_roles_plus_context_match_time_and_stop():
    layout = FeatureLayout(n_words=10, n_phrases=2)
    # Q, S, Y (the paper's 3|W|) + 6 context blocks + SM, YM, YS, then phrases, hop rows, 3 time rows, stop
    assert layout.dim == 12 * 10 + 2 + MAX_HOPS + 3 + 1
    assert (layout.Q, layout.S, layout.Y) == (0, 30, 70)
    ids = torch.tensor([[4, UNK, 5, 0]])
    rows = layout.sentence(ids, "Y", unseen_context=True)
    words, left, right = rows[0, :4], rows[0, 4:8], rows[0, 8:]
    assert words.tolist() == [layout.Y + 4, layout.Y + UNK, layout.Y + 5, layout.null]
    # only the unseen word gets context rows: its left neighbour 4 and right neighbour 5
    assert left.tolist() == [layout.null, layout.YL + 4, layout.null, layout.null]
    assert right.tolist() == [layout.null, layout.YR + 5, layout.null, layout.null]
    assert layout.sentence(ids, "Q", unseen_context=False).shape == (1, 4)


def test_occurs_in_matches_keys_but_never_padding():
    keys = torch.tensor([[[5, 6, 0]]])
    pool = torch.tensor([[6, 0]])
    assert occurs_in(keys, pool).tolist() == [[[False, True, False]]]


def test_bigram_rows_follow_word_order_and_skip_unseen_words():
    layout = FeatureLayout(n_words=10, n_phrases=0, ngram_buckets=64)
    forward = layout.sentence(torch.tensor([[4, 5, 6]]), "Y", unseen_context=False)
    backward = layout.sentence(torch.tensor([[6, 5, 4]]), "Y", unseen_context=False)
    assert sorted(forward[0, :3].tolist()) == sorted(backward[0, :3].tolist())   # same words
    assert set(forward[0, 3:].tolist()) != set(backward[0, 3:].tolist())         # other bigrams
    assert all(layout.YN <= r < layout.YN + 64 for r in forward[0, 3:5].tolist())
    with_unseen = layout.sentence(torch.tensor([[4, UNK, 6]]), "Y", unseen_context=False)
    assert with_unseen[0, 3:].tolist() == [layout.null] * 3
    assert layout.sentence(torch.tensor([[4, 5, 6]]), "S", unseen_context=False).shape == (1, 3)  # not on supports


def test_min_count_leaves_rare_words_unseen_but_keeps_answer_only_words():
    stories = [["john", "went", "to", "the", "kitchen"]] * 10 + [["anika", "went", "to", "the", "lobby"]]
    answers = ["kitchen"] * 10 + ["lobby", "unknown", "unknown", "yes", "patient_basket"]
    vocab = Vocabulary.build(stories, answers, min_count=5)
    assert {"john", "kitchen", "went", "unknown"} <= set(vocab.words)
    # seen once: unseen, as at run time; an answer-only word needs min_count / 50 answers (1 here)
    assert "anika" not in vocab.words and "lobby" not in vocab.words
    assert Vocabulary.build(stories, answers, min_count=100).words.count("unknown") == 1
    assert "patient_basket" not in Vocabulary.build(stories, answers, min_count=100).words


def test_answer_match_rows_are_appended_after_the_older_blocks():
    old = FeatureLayout(n_words=10, n_phrases=2, ngram_buckets=8, support_bigrams=True, match_source=True)
    new = FeatureLayout(n_words=10, n_phrases=2, ngram_buckets=8, support_bigrams=True, match_source=True,
                        answer_match=True)
    assert (new.QX, new.YQ, new.dim) == (old.dim, old.dim + 10, old.dim + 10 + 2 * MAX_HOPS)
    assert len(new.rows("YQ")) == 2 * MAX_HOPS and new.rows("QX")[0] == new.QX
