// SQLite helpers of the store: a prepared statement with bound values, a transaction that rolls back unless
// committed, and errors that name the database file. Internal to harness/store.
#pragma once

#include "harness/store/store.h"

#include <sqlite3.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

namespace locbench::store::sqlite {

[[noreturn]] inline void fail(sqlite3* db, const std::string& path, const std::string& what) {
  int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;
  if (code == SQLITE_NOTADB) throw StoreError(path + " is not a SQLite database");
  if (code == SQLITE_CANTOPEN) {
    const int err = db ? sqlite3_system_errno(db) : 0;
    throw StoreError(path + ": cannot open the database (" +
                     (err == ENAMETOOLONG ? std::string("the path or one of its names is too long")
                      : err            ? std::string(std::strerror(err)) + "; does its folder exist and is it writable?"
                                       : std::string("does its folder exist and is it writable?")) +
                     ")");
  }
  std::string detail = db ? sqlite3_errmsg(db) : "out of memory";
  throw StoreError(path + ": " + what + ": " + detail);
}

// A prepared statement; bind values by 1-based index, step, read columns.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail(db, path, "preparing a statement");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& text) {
    return check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  Statement& bind_or_null(int i, const std::string& text) { return text.empty() ? bind_null(i) : bind(i, text); }
  Statement& bind(int i, int64_t value) { return check(sqlite3_bind_int64(stmt_, i, value)); }
  Statement& bind(int i, double value) {
    return std::isnan(value) ? bind_null(i) : check(sqlite3_bind_double(stmt_, i, value));
  }
  Statement& bind(int i, const std::optional<int64_t>& value) { return value ? bind(i, *value) : bind_null(i); }
  Statement& bind_null(int i) { return check(sqlite3_bind_null(stmt_, i)); }
  Statement& bind_value(int i, const sqlite3_value* value) { return check(sqlite3_bind_value(stmt_, i, value)); }

  // True while a row is available; false when done. Errors (constraints included) throw.
  bool step(const std::string& what) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, path_, what);
  }

  std::string text(int col) const {
    auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return is_null(col) ? std::nan("") : sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  sqlite3_value* value(int col) const { return sqlite3_column_value(stmt_, col); }  // valid until the next step
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) fail(db_, path_, "binding a value");
    return *this;
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

inline void exec(sqlite3* db, const std::string& path, const std::string& sql, const std::string& what) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, what);
}

// Rolls back unless committed, so an exception anywhere inside leaves no partial write.
class Transaction {
 public:
  // IMMEDIATE takes the write lock up front: two writers queue on the busy timeout instead of
  // deadlocking on a read-to-write upgrade. Readers use DEFERRED for one consistent snapshot.
  Transaction(sqlite3* db, const std::string& path, bool write) : db_(db), path_(path) {
    exec(db, path, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", "starting a transaction");
  }
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, path_, "COMMIT", "committing");
    open_ = false;
  }

 private:
  sqlite3* db_;
  const std::string& path_;
  bool open_ = true;
};

}  // namespace locbench::store::sqlite
