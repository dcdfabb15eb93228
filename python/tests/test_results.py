#!/usr/bin/env python3
"""locbench.results / locbench.runs on a database that bench wrote: long format with settings as columns, model
names and labels from the suite, read-only access, and reading while a run is writing.

    python3 python/tests/test_results.py BENCH
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import pandas as pd

    import locbench
    MISSING = None
except ImportError as _err:  # pragma: no cover - depends on the environment
    MISSING = str(_err)

BENCH = None


def write_suite(path, name, models, measurements, settings=None):
    with open(path, "w") as f:
        json.dump({"name": name, "models": models, "measurements": measurements, "settings": settings or {}}, f)


@unittest.skipIf(MISSING is not None, f"pandas unavailable: {MISSING}")
class Results(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.dir = cls._tmp.name
        cls.db = os.path.join(cls.dir, "bench.db")
        suite = os.path.join(cls.dir, "small.json")
        write_suite(suite, "small",
                    ["vit_pico_patch8_64", {"name": "vit_pico_patch8_64", "label": "pico (10 classes)",
                                            "num_classes": 10}],
                    ["params", "macs", {"kind": "latency", "batch_sizes": [1, 2]}],
                    {"warmup": 1, "repeats": 3, "threads": 1})
        r = subprocess.run([BENCH, "run", suite, "--db", cls.db], capture_output=True, text=True, cwd=cls.dir)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_long_format_with_settings_as_columns(self):
        df = locbench.results(self.db)
        self.assertIsInstance(df, pd.DataFrame)
        cols = list(df.columns)
        self.assertEqual(cols[:8], ["run", "suite", "cell", "model", "label", "weights", "dataset", "measurement"])
        self.assertEqual(cols[-6:], ["seed", "metric", "value", "unit", "convention", "checkpoint_sha256"])
        for setting in ("device", "precision", "batch_size"):
            self.assertIn(setting, cols)
        # Every stored number, exactly once.
        con = sqlite3.connect(self.db)
        self.assertEqual(len(df), con.execute("SELECT count(*) FROM results").fetchone()[0])
        stored = con.execute("SELECT COALESCE(c.label, c.model), r.metric, r.value FROM results r "
                             "JOIN cells c ON c.id = r.cell_id "
                             "WHERE c.measurement = 'params'").fetchall()
        con.close()
        params = df[df.metric == "params"].set_index("label")["value"].to_dict()
        self.assertEqual(params, {label: value for label, metric, value in stored})
        self.assertEqual(params["vit_pico_patch8_64"], 1352040)
        # Labels keep the model name the suite gave.
        ten = df[df.label == "pico (10 classes)"]
        self.assertEqual(set(ten.model), {"vit_pico_patch8_64"})
        # The latency cells differ by batch size, a column of its own.
        lat = df[(df.metric == "latency") & (df.label == "vit_pico_patch8_64")]
        self.assertEqual(sorted(lat.batch_size.tolist()), [1, 2])
        self.assertEqual(set(lat.unit), {"ms"})
        self.assertTrue(df.seed.isna().all())  # data-free cells have no seed
        self.assertEqual(str(df.seed.dtype), "Int64")
        self.assertTrue(df.checkpoint_sha256.isna().all())

    def test_runs_and_selection(self):
        runs = locbench.runs(self.db)
        self.assertEqual(len(runs), 1)
        row = runs.iloc[0]
        self.assertEqual(row.suite, "small")
        self.assertEqual(row.status, "passed")
        self.assertEqual(row.cells, row.passed)
        self.assertEqual(row.failed, 0)
        self.assertIn("libtorch_version", runs.columns)
        self.assertEqual(len(locbench.results(self.db, run="latest")), len(locbench.results(self.db)))
        self.assertEqual(len(locbench.results(self.db, suite="other")), 0)
        self.assertEqual(len(locbench.results(self.db, run=int(row.run))), len(locbench.results(self.db)))

    def test_read_only(self):
        with open(self.db, "rb") as f:
            before = f.read()
        locbench.results(self.db)
        locbench.runs(self.db)
        with open(self.db, "rb") as f:
            self.assertEqual(f.read(), before)
        with self.assertRaises(FileNotFoundError):
            locbench.results(os.path.join(self.dir, "absent.db"))
        junk = os.path.join(self.dir, "junk.db")
        with open(junk, "wb") as f:
            f.write(b"not a database at all, just bytes" * 100)
        with self.assertRaises(ValueError):
            locbench.results(junk)

    def test_reads_while_a_run_writes(self):
        db = os.path.join(self.dir, "live.db")
        suite = os.path.join(self.dir, "live.json")
        write_suite(suite, "live", ["vit_pico_patch8_64"],
                    ["params", "macs"] + [{"kind": "latency", "name": f"lat{i}"} for i in range(12)],
                    {"warmup": 1, "repeats": 40, "threads": 1})
        proc = subprocess.Popen([BENCH, "run", suite, "--db", db], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, cwd=self.dir)
        seen = []
        try:
            while proc.poll() is None:
                if os.path.exists(db):
                    try:
                        seen.append(len(locbench.results(db)))
                    except ValueError:
                        pass  # the schema is not created yet
                time.sleep(0.05)
        finally:
            _, err = proc.communicate()
        self.assertEqual(proc.returncode, 0, err)
        final = len(locbench.results(db))
        self.assertEqual(seen, sorted(seen))  # never a partial cell, never going back
        self.assertLess(min(seen), final)  # it read before the run ended
        self.assertEqual(locbench.runs(db).iloc[0].status, "passed")


if __name__ == "__main__":
    if MISSING is not None:
        print(f"skipped: {MISSING}; scripts/install-deps.sh installs pandas")
        sys.exit(77)
    BENCH = os.path.abspath(sys.argv.pop(1))
    unittest.main()
