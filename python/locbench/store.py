"""Read a locbench results database (harness/store/SCHEMA.md) into pandas, read-only.

The file is opened with SQLite's URI `mode=ro`, so nothing here can change it; the database runs in WAL mode, so
reading while a `bench run` writes sees the cells committed so far and never blocks the writer.  Each call reads
in one transaction: its rows come from one consistent state.
"""

import json
import os
import sqlite3
import urllib.parse

import pandas as pd

# The columns of results(), before the settings columns are inserted after "measurement".
_ID_COLUMNS = ["run", "suite", "cell", "model", "label", "weights", "dataset", "measurement"]
_VALUE_COLUMNS = ["seed", "metric", "value", "unit", "convention", "checkpoint_sha256"]
# The columns of curves() after the settings columns.
_CURVE_COLUMNS = ["seed", "series", "step", "value"]


def _connect(db):
    if not os.path.isfile(db):
        raise FileNotFoundError(f"{db}: no such results database")
    uri = "file:" + urllib.parse.quote(os.path.abspath(db)) + "?mode=ro"
    con = sqlite3.connect(uri, uri=True, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as err:
        con.close()
        raise ValueError(f"{db} is not a SQLite database ({err})") from None
    if version < 1:
        con.close()
        raise ValueError(f"{db} holds no locbench tables")
    return con


def _columns(con, table):
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def _models_of_suite(suite_json):
    """label -> (model name as written, weights as written) from a run's suite text."""
    out = {}
    try:
        suite = json.loads(suite_json)
    except (TypeError, ValueError):
        return out
    for entry in suite.get("models", []) if isinstance(suite, dict) else []:
        if isinstance(entry, str):
            out[entry] = (entry, None)
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            weights = entry.get("weights", entry.get("checkpoint"))
            out[entry.get("label", entry["name"])] = (entry["name"], weights)
    return out


def _setting_value(value):
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _select_runs(con, run, suite):
    sql, args = "SELECT id, suite_name, suite_json FROM runs", []
    where = []
    if "part_of" in _columns(con, "runs"):  # a shard folded into a merged run (bench merge) is not a run of its own
        where.append("part_of IS NULL")
    if suite is not None:
        where.append("suite_name = ?")
        args.append(suite)
    if run is not None and run != "latest":
        where.append("id = ?")
        args.append(int(run))
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id"
    rows = con.execute(sql, args).fetchall()
    if run == "latest" and rows:
        rows = rows[-1:]
    return rows


def _label_column(con):
    """Schema 6 keeps the registry name in cells.model and the suite's row label in cells.label; before, cells.model
    was the label."""
    return "COALESCE(c.label, c.model)" if "label" in _columns(con, "cells") else "c.model"


def _cell_row(run_row, cell, models, setting_keys, reserved, values):
    """One frame row: the run's and the cell's identity, `values` (the columns of the row's own numbers), then the
    cell's settings; new setting names are appended to `setting_keys` (those in `reserved` never become columns)."""
    settings = json.loads(cell["settings"] or "{}")
    for k in settings:
        if k not in setting_keys and k not in reserved:
            setting_keys.append(k)
    name, weights = models.get(cell["label"], (cell["label"], None))
    row = {"run": run_row["id"], "suite": run_row["suite_name"], "cell": cell["cell_key"], "model": name,
           "label": cell["label"], "weights": weights, "dataset": cell["dataset"],
           "measurement": cell["measurement"], "seed": cell["seed"]}
    row.update(values)
    row.update({k: _setting_value(v) for k, v in settings.items() if k not in row})
    return row


def results(db, run=None, suite=None):
    """Every number of the database as a long DataFrame, one row per (cell, metric).

    Columns: run, suite, cell (the cell's key), model (the name the suite gave), label (the report row),
    weights (as the suite named them), dataset, measurement, one column per setting of the cells (device,
    precision, batch_size, img_size, ...), seed, metric, value, unit, convention, checkpoint_sha256.
    `run` selects one run id (or "latest"), `suite` the runs of one suite.  Failed cells have no numbers.
    """
    con = _connect(db)
    try:
        con.execute("BEGIN")
        runs_ = _select_runs(con, run, suite)
        cell_columns = _columns(con, "cells")
        has_sha = "checkpoint_sha256" in cell_columns
        label_column = _label_column(con)
        rows = []
        setting_keys = []
        for r in runs_:
            models = _models_of_suite(r["suite_json"])
            query = ("SELECT c.cell_key, " + label_column + " AS label, c.dataset, c.measurement, c.settings, "
                     "c.seed, " + ("c.checkpoint_sha256" if has_sha else "NULL") +
                     ", res.metric, res.value, res.unit, res.convention FROM results res "
                     "JOIN cells c ON c.id = res.cell_id WHERE c.run_id = ? ORDER BY res.id")
            for c in con.execute(query, (r["id"],)):
                row = _cell_row(r, c, models, setting_keys, _ID_COLUMNS + _VALUE_COLUMNS,
                                {"metric": c["metric"], "value": float("nan") if c["value"] is None else c["value"],
                                 "unit": c["unit"], "convention": c["convention"], "checkpoint_sha256": c[6]})
                rows.append(row)
        con.execute("COMMIT")
    finally:
        con.close()
    columns = _ID_COLUMNS + setting_keys + _VALUE_COLUMNS
    df = pd.DataFrame(rows, columns=columns)
    df["seed"] = df["seed"].astype("Int64")
    df["value"] = df["value"].astype(float)
    return df


def curves(db, run=None, suite=None):
    """The training curves of the database (the `curves` table) as a long DataFrame, one row per point.

    Columns: run, suite, cell, model, label, weights, dataset, measurement, one column per setting of the cells,
    seed, series (`loss`, `lr`, `miou`, `cls_loss`, ...), step, value.  `run` and `suite` select as in results().
    A database older than the curves table (schema version 2) has no curves: the frame is empty.
    """
    con = _connect(db)
    try:
        con.execute("BEGIN")
        runs_ = _select_runs(con, run, suite)
        has_curves = con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'curves'"
                                 ).fetchone()[0] > 0
        rows, setting_keys = [], []
        for r in runs_ if has_curves else []:
            models = _models_of_suite(r["suite_json"])
            query = ("SELECT c.cell_key, " + _label_column(con) + " AS label, c.dataset, c.measurement, "
                     "c.settings, c.seed, cv.series, cv.step, cv.value FROM curves cv JOIN cells c ON c.id = cv.cell_id "
                     "WHERE cv.run_id = ? ORDER BY c.id, cv.series, cv.step")
            for c in con.execute(query, (r["id"],)):
                row = _cell_row(r, c, models, setting_keys, _ID_COLUMNS + _CURVE_COLUMNS,
                                {"series": c["series"], "step": c["step"],
                                 "value": float("nan") if c["value"] is None else c["value"]})
                rows.append(row)
        con.execute("COMMIT")
    finally:
        con.close()
    df = pd.DataFrame(rows, columns=_ID_COLUMNS + setting_keys + _CURVE_COLUMNS)
    df["seed"] = df["seed"].astype("Int64")
    df["step"] = df["step"].astype("int64")
    df["value"] = df["value"].astype(float)
    return df


def runs(db):
    """One row per run: run, suite, suite_path, status, started_at, ended_at, cells, passed, failed and the
    provenance columns of the runs table (git_commit, host, cpu_name, gpu_name, ...)."""
    con = _connect(db)
    try:
        con.execute("BEGIN")
        cols = _columns(con, "runs")
        skip = {"id", "suite_name", "suite_json", "suite_hash"}
        extra = [c for c in ("suite_path", "status", "started_at", "ended_at", "git_commit", "host", "cpu_name",
                             "gpu_name", "driver_version", "cuda_version", "libtorch_version", "locbench_version",
                             "threads", "seeds") if c in cols]
        extra += sorted(c for c in cols if c not in skip and c not in extra)
        query = ("SELECT r.id AS run, r.suite_name AS suite, " + ", ".join("r." + c for c in extra) +
                 ", (SELECT count(*) FROM cells c WHERE c.run_id = r.id) AS cells"
                 ", (SELECT count(*) FROM cells c WHERE c.run_id = r.id AND c.status = 'passed') AS passed"
                 ", (SELECT count(*) FROM cells c WHERE c.run_id = r.id AND c.status = 'failed') AS failed"
                 " FROM runs r ORDER BY r.id")
        rows = [dict(row) for row in con.execute(query)]
        con.execute("COMMIT")
    finally:
        con.close()
    df = pd.DataFrame(rows, columns=["run", "suite"] + extra + ["cells", "passed", "failed"])
    if "seeds" in df:
        df["seeds"] = [tuple(json.loads(s)) if isinstance(s, str) and s else () for s in df["seeds"]]
    return df
