"""The suite's own scheduling list (tests/conftest.LONGEST_FIRST) names files that exist: a renamed file would drop
out of it silently and run last, where its length makes one core wait at the end of `make test`."""

from tests.conftest import LONGEST_FIRST, ROOT


def test_every_file_in_the_longest_first_list_exists():
    missing = [path for path in LONGEST_FIRST if not (ROOT / path).is_file()]
    assert not missing, missing
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
