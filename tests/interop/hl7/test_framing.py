from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from carepipe.interop.hl7.framing import MllpDecoder, Oversized, frame

SB, END = b"\x0b", b"\x1c\r"


def feed_all(dec: MllpDecoder, chunks: list[bytes]) -> list:
    out: list = []
    for c in chunks:
        out.extend(dec.feed(c))
    return out


def test_one_frame_in_one_read() -> None:
    assert MllpDecoder().feed(frame("MSH|x")) == [b"MSH|x"]


def test_several_frames_in_one_read_and_garbage_between() -> None:
    dec = MllpDecoder()
    data = b"junk" + frame("A") + b"\r\n" + frame("B") + frame("C")
    assert dec.feed(data) == [b"A", b"B", b"C"]
    assert dec.garbage_bytes == 6


def test_partial_frames_byte_by_byte() -> None:
    dec = MllpDecoder()
    data = frame("MSH|1") + frame("MSH|2")
    assert feed_all(dec, [bytes([b]) for b in data]) == [b"MSH|1", b"MSH|2"]
    assert not dec.in_frame


def test_end_block_split_across_reads() -> None:
    dec = MllpDecoder()
    assert dec.feed(SB + b"abc\x1c") == []
    assert dec.in_frame
    assert dec.feed(b"\rnext") == [b"abc"]


def test_lone_fs_inside_a_frame_is_content() -> None:
    dec = MllpDecoder()
    assert feed_all(dec, [SB + b"a\x1c", b"b" + END]) == [b"a\x1cb"]


def test_new_start_block_abandons_an_unfinished_frame() -> None:
    dec = MllpDecoder()
    assert dec.feed(SB + b"half" + SB + b"whole" + END) == [b"whole"]
    assert dec.abandoned_frames == 1


def test_oversized_frame_is_reported_with_prefix_and_size_and_decoding_resumes() -> None:
    dec = MllpDecoder(max_message_bytes=10)
    big = b"MSH|" + b"x" * 5000
    events = feed_all(dec, [SB, big[:2000], big[2000:], END + frame("ok")])
    assert isinstance(events[0], Oversized)
    assert events[0].size == len(big) and events[0].prefix == big[:4096]
    assert events[0].sha256 == hashlib.sha256(big).hexdigest()
    assert events[1] == b"ok"


def test_oversized_frame_keeps_the_requested_prefix_and_hashes_the_whole_frame() -> None:
    dec = MllpDecoder(max_message_bytes=10, keep_bytes=6000)
    big = (
        b"MSH|" + bytes(b for b in range(256) if b != 0x0B) * 40 + b"\x1c"
    )  # ends with a lone 0x1C: content
    events = feed_all(dec, [SB, big[:3000], big[3000:], END])
    assert isinstance(events[0], Oversized)
    assert events[0].prefix == big[:6000] and events[0].size == len(big)
    assert events[0].sha256 == hashlib.sha256(big).hexdigest()


def test_exactly_max_is_accepted_even_when_the_end_block_is_split() -> None:
    dec = MllpDecoder(max_message_bytes=5)
    assert feed_all(dec, [SB + b"12345\x1c", b"\r"]) == [b"12345"]
    assert isinstance(dec.feed(frame("123456"))[0], Oversized)


def test_oversized_prefix_never_includes_the_end_block() -> None:
    dec = MllpDecoder(max_message_bytes=3)
    events = feed_all(dec, [SB + b"abcdef\x1c", b"\r"])
    assert events == [Oversized(b"abcdef", 6, hashlib.sha256(b"abcdef").hexdigest())]


def test_empty_frame() -> None:
    assert MllpDecoder().feed(SB + END) == [b""]


_payload = st.binary(max_size=200).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))


@settings(max_examples=300, deadline=None)
@given(st.lists(_payload, max_size=10), st.data())
def test_any_chunking_yields_the_same_frames(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(b"\r\n" + frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    dec = MllpDecoder(max_message_bytes=150)
    events = feed_all(dec, chunks)
    assert len(events) == len(payloads)
    for p, ev in zip(payloads, events, strict=True):
        if len(p) > 150:
            assert isinstance(ev, Oversized) and ev.size == len(p) and ev.prefix == p[:4096]
            assert ev.sha256 == hashlib.sha256(p).hexdigest()
        else:
            assert ev == p
