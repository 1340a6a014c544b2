"""Reading transcript files, segmenting them, and scanning them for identifiers."""

import io

import docx
import pytest

from equilean.engine.errors import InputError
from equilean.studies.text import read_upload, scan_identifiers, segment

TEXT = (
    "Interviewer: How does the huddle go? Tell me.\n"
    "\n"
    "P03: It is short. Dr. Lee runs it at 7.30 sharp.\n"
    "We look at falls by language.\n"
    "\n"
    "Second thought! Yes.\n"
    "Interviewer: Thanks."
)


def units(text, kind):
    return [(text[s.start : s.end], s.speaker) for s in segment(text) if s.kind == kind]


def test_it_splits_speaker_turns_without_their_labels():
    assert units(TEXT, "turn") == [
        ("How does the huddle go? Tell me.", "Interviewer"),
        (
            "It is short. Dr. Lee runs it at 7.30 sharp.\nWe look at falls by language.\n\n"
            "Second thought! Yes.",
            "P03",
        ),
        ("Thanks.", "Interviewer"),
    ]


def test_a_paragraph_ends_at_a_blank_line_or_a_new_speaker():
    assert [t for t, _ in units(TEXT, "paragraph")] == [
        "How does the huddle go? Tell me.",
        "It is short. Dr. Lee runs it at 7.30 sharp.\nWe look at falls by language.",
        "Second thought! Yes.",
        "Thanks.",
    ]


def test_sentences_do_not_end_at_abbreviations_or_decimals():
    assert [t for t, _ in units(TEXT, "sentence")] == [
        "How does the huddle go?",
        "Tell me.",
        "It is short.",
        "Dr. Lee runs it at 7.30 sharp.",
        "We look at falls by language.",
        "Second thought!",
        "Yes.",
        "Thanks.",
    ]


def test_text_without_speakers_has_a_turn_per_paragraph():
    text = "First block.\n\nSecond block."
    assert units(text, "turn") == [("First block.", ""), ("Second block.", "")]


def test_it_reads_a_text_file_with_windows_line_ends():
    assert read_upload("p01.txt", b"A: one  \r\n\r\nB: two\r\n") == "A: one\n\nB: two"


def test_it_reads_a_word_file_paragraph_by_paragraph():
    document = docx.Document()
    document.add_paragraph("Interviewer: Why?")
    document.add_paragraph("")
    document.add_paragraph("P02: Because.")
    buffer = io.BytesIO()
    document.save(buffer)
    assert read_upload("P02.DOCX", buffer.getvalue()) == "Interviewer: Why?\n\nP02: Because."


def test_it_joins_a_voices_consecutive_captions_into_one_turn():
    vtt = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\n<v Interviewer>What helps?</v>\n\n"
        "NOTE a comment\n\n00:00:03.000 --> 00:00:05.000\n<v P04>Good data.\n\n"
        "00:00:05.000 --> 00:00:07.000\n<v P04>And <b>time</b>.\n"
    )
    assert (
        read_upload("p04.vtt", vtt.encode())
        == "Interviewer: What helps?\n\nP04: Good data. And time."
    )


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("notes.pdf", b"%PDF", "files ending .pdf are not read"),
        ("p01.docx", b"not a zip", "not a Word .docx file"),
        ("p01.vtt", b"00:00:01.000 --> 00:00:02.000\nHi\n", 'starts with the line "WEBVTT"'),
        ("p01.vtt", b"WEBVTT\n\n00:01 -> 00:02\nHi\n", "line 3: expected a cue timing"),
        ("p01.txt", b"caf\xe9", "not UTF-8 text"),
        ("p01.txt", b"  \n\n ", "the file holds no text"),
    ],
)
def test_a_bad_file_is_refused_with_its_name_and_a_fix(name, raw, message):
    with pytest.raises(InputError) as caught:
        read_upload(name, raw)
    assert str(caught.value).startswith(name)
    assert message in str(caught.value)


def test_it_finds_record_numbers_birth_dates_and_phone_numbers_by_line():
    text = "P05: fine.\nHer MRN: 00123456, DOB 04/07/1961.\nCall (555) 201-3344 or 555.201.3345."
    assert [(f.kind, f.line, f.excerpt) for f in scan_identifiers(text)] == [
        ("date of birth", 2, "DOB 04/07/1961"),
        ("medical record number", 2, "MRN: 00123456"),
        ("phone number", 3, "(555) 201-3344"),
        ("phone number", 3, "555.201.3345"),
    ]


def test_ordinary_talk_is_not_flagged():
    assert scan_identifiers("We met at 7:30 on 3 West; 12 of 40 patients, 2024 goals.") == []
