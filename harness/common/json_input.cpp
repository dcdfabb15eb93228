// A SAX handler that builds the document itself, so depth and duplicate keys are checked as the parser meets
// them (nlohmann's parser is iterative; only what is done with a deep value afterwards recurses).
#include "harness/common/json_input.h"

#include "harness/common/text.h"

#include <unordered_set>
#include <vector>

namespace locbench {

namespace {

using nlohmann::json;

class GuardedBuilder {
 public:
  GuardedBuilder(json& root, const std::string& path, JsonLimits limits) : root_(root), path_(path), limits_(limits) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return put(json(v)); }
  // A NUL character (\u0000) would end the string wherever it reaches C (file names, SQLite's text, LaTeX):
  // refused in values and keys alike.
  bool string(json::string_t& v) {
    if (v.find('\0') != std::string::npos)
      fail(frames_.empty() ? std::string() : value_path(frames_.back().key), "a NUL character (\\u0000) in a string");
    return put(json(std::move(v)));
  }
  bool binary(json::binary_t& v) { return put(json(std::move(v))); }
  bool start_object(std::size_t /*size*/) { return open(json::object()); }
  bool start_array(std::size_t /*size*/) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    Frame& f = frames_.back();
    if (k.find('\0') != std::string::npos) fail(f.path, "a NUL character (\\u0000) in a key");
    if (!f.keys.insert(k).second)
      fail(f.path, "duplicate key '" + one_line(k, 80) + "'" + (f.path.empty() ? " in the top-level object" : "") +
                       " (a key may appear once in an object)");
    f.key = k;
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/, const json::exception& e) {
    std::string what = e.what();
    if (what.rfind("[json.exception.", 0) == 0) what = what.substr(what.find(']') + 1);  // nlohmann's own tag
    if (!what.empty() && what[0] == ' ') what.erase(0, 1);
    // Syntax errors say so; a number JSON writes but a double cannot hold (1e400) speaks for itself.
    const char* kind = dynamic_cast<const json::parse_error*>(&e) ? "invalid JSON: " : "";
    fail(frames_.empty() ? std::string() : value_path(frames_.back().key),
         kind + one_line(what, 160) + " (byte " + std::to_string(position) + ")");
  }

 private:
  struct Frame {
    json* value;
    std::string path;  // "models[2].train"
    std::string key;   // objects: the key whose value comes next
    size_t next_index = 0;
    std::unordered_set<std::string> keys;
  };

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw JsonInputError(path_ + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  // The path of the value about to be stored in the innermost container.
  std::string value_path(const std::string& key) const {
    const Frame& f = frames_.back();
    if (f.value->is_array()) return f.path + "[" + std::to_string(f.next_index) + "]";
    if (key.empty()) return f.path;  // between a value and the next key: the object itself
    const std::string k = one_line(key, 60);
    return f.path.empty() ? k : f.path + "." + k;
  }

  json* store(json v) {
    if (frames_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = frames_.back();
    if (f.value->is_array()) {
      f.value->push_back(std::move(v));
      ++f.next_index;
      return &f.value->back();  // stays valid: nothing is appended to this array until the child is closed
    }
    json& slot = (*f.value)[f.key];
    slot = std::move(v);
    f.key.clear();
    return &slot;
  }

  bool put(json v) {
    store(std::move(v));
    return true;
  }

  bool open(json container) {
    const std::string path = frames_.empty() ? std::string() : value_path(frames_.back().key);
    if (static_cast<int>(frames_.size()) >= limits_.max_depth)
      fail(path, "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    json* value = store(std::move(container));
    frames_.push_back({value, path, {}, 0, {}});
    return true;
  }

  bool close() {
    frames_.pop_back();
    return true;
  }

  json& root_;
  const std::string& path_;
  JsonLimits limits_;
  std::vector<Frame> frames_;
};

void bounded_dump(const json& v, std::string& out, size_t budget) {
  if (out.size() >= budget) return;
  if (v.is_array() || v.is_object()) {
    out += v.is_array() ? '[' : '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() >= budget) break;
      if (!first) out += ',';
      first = false;
      if (v.is_object()) out += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + ":";
      bounded_dump(*it, out, budget);
    }
    if (out.size() < budget) out += v.is_array() ? ']' : '}';
    return;
  }
  if (v.is_string() && v.get_ref<const std::string&>().size() > budget) {
    out += json(v.get_ref<const std::string&>().substr(0, budget)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += v.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json parse_untrusted_json(std::string_view text, const std::string& path, JsonLimits limits) {
  // nlohmann's lexer takes a NUL byte for the end of input: whatever follows one would be dropped unread.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw JsonInputError(path + ": invalid JSON: a NUL byte at byte " + std::to_string(nul));
  json root;
  GuardedBuilder builder(root, path, limits);
  json::sax_parse(text.begin(), text.end(), &builder);
  return root;
}

std::string json_excerpt(const json& value, size_t max_chars) {
  std::string out;
  bounded_dump(value, out, max_chars);
  return one_line(out, max_chars);
}

}  // namespace locbench
