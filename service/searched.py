"""What search finds: every domain's search source, in the order its hits rank when they score the same.

A new kind of record is searched once its folder defines a SearchSource (service/search/documents.py says
how) and it is named here; every write then re-indexes its records before it commits (service.app).
"""

from service.analyses.search import ANALYSES
from service.cycling.search import TEST_RUNS
from service.entries.search import ENTRIES
from service.items.search import ITEMS
from service.search.index import SearchIndex
from service.steps.search import STEPS

SEARCHED = (ITEMS, STEPS, ENTRIES, TEST_RUNS, ANALYSES)


def search_index() -> SearchIndex:
    return SearchIndex(SEARCHED)
