"""ui/params: the URL's values and notices, exactly (no Streamlit, milliseconds a test: mutation runs use these)."""

from __future__ import annotations

import pytest

from ae_core.baselines import BASELINES
from ae_core.registry import MODELS
from ui import params

N = 100  # digits in the test set for these cases


def parse(query: dict, n: int = N):
    vals, notices = params.parse(query, n)
    return vals, [str(m) for m in notices]


def test_defaults_without_any_parameter():
    vals, notices = parse({})
    assert notices == []
    assert {k: vals[k] for k in params.DEFAULTS} == {
        "source": "mnist",
        "digit": 0,
        "noise": "gaussian",
        "factor": 0.5,
        "seed": 0,
    }
    assert vals["sources"] == ("mnist", "draw", "upload") and vals["hide"] == ()
    assert vals["show"] is vals["baselines"] is vals["residuals"] is vals["feed_clean"] is None
    assert params.MAX_SEED == 2_147_483_647


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("en", "en"),
        ("EN-gb", "en"),
        ("zh", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_Hans", "zh_CN"),
        (" ZH-tw ", "zh_CN"),
        ("fr", None),
        ("", None),
        (None, None),
        (7, None),
        ("zh" + "-x" * 16 + "y", "zh_CN"),  # 35 characters: still read
        ("zh" + "-x" * 16 + "yy", None),  # 36: refused unread
    ],
)
def test_lang_code(raw, code):
    assert params.lang_code(raw) == code


def test_known_values_are_taken_as_they_are():
    vals, notices = parse({"source": "draw", "noise": "masking", "digit": "42", "factor": "0.25", "seed": "9"})
    assert notices == []
    assert (vals["source"], vals["noise"], vals["digit"], vals["factor"], vals["seed"]) == (
        "draw",
        "masking",
        42,
        0.25,
        9,
    )
    assert isinstance(vals["digit"], int) and isinstance(vals["seed"], int) and isinstance(vals["factor"], float)


def test_unknown_source_and_noise_fall_back_with_a_notice():
    vals, notices = parse({"source": "camera" * 10, "noise": "pink" * 10, "lang": "klingon" * 5})
    assert vals["source"] == "mnist" and vals["noise"] == "gaussian"
    assert notices == [
        "Unknown source 'cameracameracameraca'; showing an MNIST digit.",
        "Unknown noise type 'pinkpinkpinkpinkpink'; using Gaussian.",
        "Unknown language 'klingonklingonklingo'; using English or your browser's.",
    ]


@pytest.mark.parametrize(
    ("query", "value", "notice"),
    [
        ({"digit": "abc"}, 0, "digit='abc' is not a valid whole number; using 0."),
        ({"digit": "2.5"}, 0, "digit='2.5' is not a valid whole number; using 0."),
        ({"digit": "nan"}, 0, "digit='nan' is not a valid whole number; using 0."),
        ({"digit": "inf"}, 0, "digit='inf' is not a valid whole number; using 0."),
        ({"seed": "1e3"}, 1000, None),
        ({"seed": "-1"}, 0, "seed=-1 is out of range; clamped to 0."),
        ({"seed": "2147483648"}, 2_147_483_647, "seed=2147483648 is out of range; clamped to 2147483647."),
        ({"seed": "2147483647"}, 2_147_483_647, None),
        ({"digit": "99"}, 99, None),
        ({"digit": "100"}, 99, "digit=100 is out of range; clamped to 99."),
        ({"digit": "-0"}, 0, None),
        ({"factor": "x"}, 0.5, "factor='x' is not a valid number; using 0.5."),
        ({"factor": "-inf"}, 0.5, "factor='-inf' is not a valid number; using 0.5."),
        ({"factor": "1.5"}, 1.0, "factor=1.5 is out of range; clamped to 1.0."),
        ({"factor": "-0.2"}, 0.0, "factor=-0.2 is out of range; clamped to 0.0."),
        ({"factor": "1"}, 1.0, None),
        ({"factor": "0"}, 0.0, None),
    ],
)
def test_numbers_are_checked_and_clamped(query, value, notice):
    vals, notices = parse(query)
    (name,) = query
    assert vals[name] == value
    assert notices == ([notice] if notice else [])


@pytest.mark.parametrize(("raw", "snapped"), [("0.33", 0.35), ("0.32", 0.3), ("0.024", 0.0), ("0.026", 0.05)])
def test_factor_snaps_to_the_sliders_step(raw, snapped):
    assert parse({"factor": raw})[0]["factor"] == snapped


def test_a_long_bad_value_is_cut_to_20_characters():
    _, notices = parse({"seed": "9" * 30 + "x"})
    assert notices == ["seed='" + "9" * 20 + "' is not a valid whole number; using 0."]
    notices = []
    params.lesson_values({"residuals": "y" * 30}, notices)
    assert [str(n) for n in notices] == ["residuals='" + "y" * 20 + "' is not on/off; using off."]


def test_one_bad_number_does_not_stop_the_others():
    vals, notices = parse({"digit": "x", "factor": "0.2", "seed": "8"})
    assert (vals["digit"], vals["factor"], vals["seed"]) == (0, 0.2, 8) and len(notices) == 1


def test_a_lessons_notices_come_with_the_others():
    _, notices = parse({"digit": "x", "hide": "seed,wings"})
    assert notices == [
        "digit='x' is not a valid whole number; using 0.",
        "Ignored unknown controls to hide in the link: 'wings'.",
    ]


def test_unknown_parameters_are_named_five_at_most():
    query = {f"k{i}" + "z" * 30: "1" for i in range(7)}
    _, notices = parse(query)
    names = sorted(query)[:5]
    assert notices == ["Ignored unknown URL parameters: " + ", ".join(n[:20] for n in names) + "."]


def test_known_and_lesson_parameters_are_not_unknown():
    query = {"digit": "1", "show": "conv_dae", "lang": "zh", "hide": "seed"}
    assert parse(query)[1] == []


def test_unknown_language_gets_a_notice():
    assert parse({"lang": "klingon"})[1] == ["Unknown language 'klingon'; using English or your browser's."]
    assert parse({"lang": "en-US"})[1] == []


def test_lesson_sources_move_the_start_source():
    vals, notices = parse({"source": "mnist", "sources": "upload,draw"})
    assert vals["sources"] == ("draw", "upload") and vals["source"] == "draw"
    assert notices == []
    vals, _ = parse({"source": "upload", "sources": "upload,draw"})
    assert vals["source"] == "upload"


def test_items_keep_the_allowed_order_and_name_the_bad_ones():
    notices = []
    got = params._items(" c , a,,x,a,  ", ("a", "b", "c"), "bad: {listed}", notices)
    assert got == ("a", "c") and notices == ["bad: 'x'"]
    assert params._items("none", ("a",), "{listed}", notices) == ()
    assert params._items(" none ", ("a",), "{listed}", notices) == ()
    assert params._items("", ("a",), "{listed}", notices) == ()
    assert len(notices) == 1
    params._items("b" * 30, ("a",), "{listed}", notices)
    assert notices[-1] == repr("b" * 20)
    many = ",".join(f"bad{i}" for i in range(8))
    params._items(many, ("a",), "{listed}", notices)
    assert notices[-1] == "'bad0', 'bad1', 'bad2', 'bad3', 'bad4'"
    params._items("\x00" * 30, ("a",), "{listed}", notices)
    assert notices[-1] == repr("\x00" * 20)[:40]  # a repr's escapes are cut too


def test_lesson_values_read_each_parameter():
    notices = []
    vals = params.lesson_values(
        {
            "show": "conv_dae,basic_ae",
            "baselines": "median,nope",
            "residuals": " ON ",
            "feed_clean": "no",
            "sources": "draw",
            "hide": "seed,factor,bogus",
        },
        notices,
    )
    keys = list(MODELS)
    assert vals["show"] == tuple(k for k in keys if k in ("conv_dae", "basic_ae"))
    assert vals["baselines"] == ("median",)
    assert vals["residuals"] is True and vals["feed_clean"] is False
    assert vals["sources"] == ("draw",)
    assert vals["hide"] == ("factor", "seed")  # HIDEABLE's order
    assert [str(n) for n in notices] == [
        "Ignored unknown baselines in the link: 'nope'.",
        "Ignored unknown controls to hide in the link: 'bogus'.",
    ]


@pytest.mark.parametrize("word", ["1", "true", "on", "yes", "TRUE"])
def test_on_words(word):
    assert params.lesson_values({"residuals": word}, [])["residuals"] is True


@pytest.mark.parametrize("word", ["0", "false", "off", "no", " Off"])
def test_off_words(word):
    notices = []
    assert params.lesson_values({"feed_clean": word}, notices)["feed_clean"] is False
    assert notices == []


def test_a_bad_toggle_is_off_with_a_notice():
    notices = []
    assert params.lesson_values({"residuals": "maybe"}, notices)["residuals"] is False
    assert [str(n) for n in notices] == ["residuals='maybe' is not on/off; using off."]


def test_a_lesson_with_no_model_or_source_keeps_them_all():
    notices = []
    vals = params.lesson_values({"show": "none", "sources": "x"}, notices)
    assert vals["show"] is None and vals["sources"] == params.SOURCES
    assert [str(n) for n in notices] == [
        "The link shows no model; showing all three.",
        "Ignored unknown input sources in the link: 'x'.",
        "The link offers no input source; offering all three.",
    ]
    assert params.lesson_values({"baselines": "none"}, [])["baselines"] == ()
    assert params.lesson_values({"hide": "none"}, [])["hide"] == ()
    assert params.lesson_values({"hide": "zzz"}, [])["hide"] == ()


def test_unknown_models_are_named():
    notices = []
    vals = params.lesson_values({"show": "conv_dae,vae"}, notices)
    assert vals["show"] == ("conv_dae",)
    assert [str(n) for n in notices] == ["Ignored unknown models in the link: 'vae'."]


@pytest.mark.parametrize("key", params.LESSON)
def test_any_lesson_parameter_makes_a_lesson(key):
    assert params.is_lesson({key: ""}) and params.is_lesson({"digit": "1", key: "x"})


def test_todays_parameters_alone_are_no_lesson():
    assert not params.is_lesson({"digit": "1", "factor": "0.5", "lang": "zh", "step": "2"})


def test_lesson_query_writes_only_what_is_set():
    assert params.lesson_query({}) == {}
    assert params.lesson_query({"sources": params.SOURCES, "hide": ()}) == {}
    q = params.lesson_query(
        {
            "show": ("conv_dae",),
            "baselines": (),
            "residuals": True,
            "feed_clean": False,
            "sources": ("draw", "upload"),
            "hide": ("seed", "models"),
        }
    )
    assert q == {
        "show": "conv_dae",
        "baselines": "none",
        "residuals": "1",
        "feed_clean": "0",
        "sources": "draw,upload",
        "hide": "seed,models",
    }
    assert params.lesson_query({"baselines": ("median", "tv")}) == {"baselines": "median,tv"}
    assert set(BASELINES) >= {"median", "tv"}


def test_a_lesson_query_reads_back_as_the_same_lesson():
    vals = {
        "show": ("basic_ae", "conv_dae"),
        "baselines": (),
        "residuals": False,
        "feed_clean": True,
        "sources": ("upload",),
        "hide": ("noise_type",),
    }
    again = params.lesson_values(params.lesson_query(vals), [])
    assert {k: again[k] for k in vals} == vals
