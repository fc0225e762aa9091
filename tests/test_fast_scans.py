"""Fast scans give exactly what the plain regular expression gives (they only skip places no match can start)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scribe.forms import _BOX, boxes_in, form_spans

_ALPHABET = st.sampled_from([*"[]()xX✓✔☐☒☑□■ \n\tab:/{}", "Yes", "No", "L1", "Sacroplasty"])


def _spans(matches: list) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:  # type: ignore[type-arg]
    return [(m.span(), m.groups()) for m in matches]


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_boxes_in_finds_what_finditer_finds(text: str) -> None:
    assert _spans(boxes_in(text)) == _spans(list(_BOX.finditer(text)))


def test_boxes_in_on_a_form() -> None:
    text = "Procedure: [x] Kyphoplasty [ ] Sacroplasty ( ) Vertebroplasty\nBiopsy: ☐ Yes ☒ No (see note)"
    assert [m.group(0) for m in boxes_in(text)] == ["[x]", "[ ]", "( )", "☐", "☒"]
    spans = form_spans(text)
    assert spans.boxes == 5
    assert text[spans.checked[0][0] : spans.checked[0][1]].strip() == "Kyphoplasty"


def test_boxes_in_skips_parentheses_that_are_not_boxes() -> None:
    assert boxes_in("pain (8/10) at L1 (old) and (x) one") and [m.group(0) for m in boxes_in("(x) (y) ()")] == \
        ["(x)", "()"]
