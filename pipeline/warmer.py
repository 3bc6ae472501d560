"""Work a model answer will need, done while the model answers: the paper's ❓ indexes.

A fresh summary's ❓ flags read the paper through two indexes (`provenance.paper_indexes`),
about 0.2 s of CPU for a long paper. Built when the answer arrives, the answers that come back
together at the end of a cold build queue for them; built in the background once no PDF is
being extracted, they use the seconds the model takes, not the cores the extraction needs.
"""

from __future__ import annotations

import threading

from pipeline.text.pool import Extractor


class IndexWarmer:
    """Builds the indexes of the texts `add`ed, one after another, whenever `extractor` is
    idle; `stop` drops what is left (a daemon thread: a build never waits for it)."""

    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor
        self._texts: list[str] = []
        self._stopped = False
        self._turn = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, text: str) -> None:
        with self._turn:
            if self._stopped:
                return
            self._texts.append(text)
            self._turn.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="warmer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        with self._turn:
            self._stopped = True
            self._texts.clear()
            self._turn.notify()

    def _run(self) -> None:
        from pipeline.provenance import paper_indexes

        while True:
            with self._turn:
                self._turn.wait_for(lambda: bool(self._texts) or self._stopped)
                if not self._texts:
                    return
                text = self._texts.pop(0)
            self.extractor.wait_idle()
            paper_indexes(text)
