#include "kube/cache/packed_list.h"

#include "kube/cache/field_mask_parse.h"
#include "kube/cache/packed_keys.h"
#include "sandboxd/kube/kube_client.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

namespace sandboxd {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// MessagePack as nlohmann's binary writer writes it (detail/output/binary_writer.hpp,
// write_msgpack): the smallest encoding of each length and integer, non-negative integers as
// unsigned, floats as float32 when that is exact.
class MsgpackWriter {
 public:
  void setOutput(std::string* out) { out_ = out; }
  void setKeys(const PackedKeys* keys) { keys_ = keys; }

  void nil() { byte(0xC0); }
  void boolean(bool b) { byte(b ? 0xC3 : 0xC2); }

  void unsignedInteger(uint64_t n) {
    if (n < 128) {
      byte(static_cast<uint8_t>(n));
    } else if (n <= std::numeric_limits<uint8_t>::max()) {
      byte(0xCC);
      bigEndian(static_cast<uint8_t>(n));
    } else if (n <= std::numeric_limits<uint16_t>::max()) {
      byte(0xCD);
      bigEndian(static_cast<uint16_t>(n));
    } else if (n <= std::numeric_limits<uint32_t>::max()) {
      byte(0xCE);
      bigEndian(static_cast<uint32_t>(n));
    } else {
      byte(0xCF);
      bigEndian(n);
    }
  }

  void integer(int64_t n) {
    if (n >= 0) {
      unsignedInteger(static_cast<uint64_t>(n));
    } else if (n >= -32) {
      bigEndian(static_cast<int8_t>(n));
    } else if (n >= std::numeric_limits<int8_t>::min()) {
      byte(0xD0);
      bigEndian(static_cast<int8_t>(n));
    } else if (n >= std::numeric_limits<int16_t>::min()) {
      byte(0xD1);
      bigEndian(static_cast<int16_t>(n));
    } else if (n >= std::numeric_limits<int32_t>::min()) {
      byte(0xD2);
      bigEndian(static_cast<int32_t>(n));
    } else {
      byte(0xD3);
      bigEndian(n);
    }
  }

  void number(double d) {
    if (d >= static_cast<double>(std::numeric_limits<float>::lowest()) &&
        d <= static_cast<double>(std::numeric_limits<float>::max()) &&
        static_cast<double>(static_cast<float>(d)) == d) {
      byte(0xCA);
      bigEndian(static_cast<float>(d));
    } else {
      byte(0xCB);
      bigEndian(d);
    }
  }

  void string(std::string_view s) {
    const size_t n = s.size();
    if (n <= 31) {
      byte(static_cast<uint8_t>(0xA0 | n));
    } else if (n <= std::numeric_limits<uint8_t>::max()) {
      byte(0xD9);
      bigEndian(static_cast<uint8_t>(n));
    } else if (n <= std::numeric_limits<uint16_t>::max()) {
      byte(0xDA);
      bigEndian(static_cast<uint16_t>(n));
    } else {
      byte(0xDB);
      bigEndian(static_cast<uint32_t>(n));
    }
    out_->append(s.data(), n);
  }

  // An object's key: its code when it has one (kube/cache/packed_keys.h).
  void key(std::string_view k) {
    if (keys_ != nullptr) {
      if (const std::optional<char> code = keys_->codeOf(k)) {
        byte(0xA1);
        out_->push_back(*code);
        return;
      }
    }
    string(k);
  }

  void arrayHeader(size_t n) {
    if (n <= 15) {
      byte(static_cast<uint8_t>(0x90 | n));
    } else if (n <= std::numeric_limits<uint16_t>::max()) {
      byte(0xDC);
      bigEndian(static_cast<uint16_t>(n));
    } else {
      byte(0xDD);
      bigEndian(static_cast<uint32_t>(n));
    }
  }

  void mapHeader(size_t n) {
    if (n <= 15) {
      byte(static_cast<uint8_t>(0x80 | n));
    } else if (n <= std::numeric_limits<uint16_t>::max()) {
      byte(0xDE);
      bigEndian(static_cast<uint16_t>(n));
    } else {
      byte(0xDF);
      bigEndian(static_cast<uint32_t>(n));
    }
  }

 private:
  void byte(uint8_t b) { out_->push_back(static_cast<char>(b)); }

  template <typename T>
  void bigEndian(T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    for (size_t i = sizeof(T); i > 0; --i) {
      out_->push_back(bytes[i - 1]);  // little-endian host (x86-64, arm64 Linux)
    }
  }

  std::string* out_ = nullptr;
  const PackedKeys* keys_ = nullptr;
};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "MsgpackWriter assumes little-endian");

// One kept member of an object being packed: its key, value, mask (null: all of it) and place
// in the text (repeated keys: the last one counts, as in nlohmann's parser).
struct Member {
  std::string_view key;
  element value;
  const FieldMask* mask;
  size_t position;
};

class ItemPacker {
 public:
  // Appends `value` to `out`, keeping what `mask` keeps (null: everything).
  explicit ItemPacker(const PackedKeys* keys) { writer_.setKeys(keys); }

  void pack(element value, const FieldMask* mask, std::string& out) {
    writer_.setOutput(&out);
    pack(value, mask);
  }

 private:
  void pack(element value, const FieldMask* mask) {
    switch (value.type()) {
      case element_type::OBJECT:
        packObject(simdjson::dom::object(value), mask);
        return;
      case element_type::ARRAY: {
        const simdjson::dom::array array(value);
        writer_.arrayHeader(array.size());
        for (const element item : array) {
          pack(item, mask);
        }
        return;
      }
      case element_type::STRING:
        writer_.string(std::string_view(value));
        return;
      case element_type::INT64:
        writer_.integer(int64_t(value));
        return;
      case element_type::UINT64:
        writer_.unsignedInteger(uint64_t(value));
        return;
      case element_type::DOUBLE:
        writer_.number(double(value));
        return;
      case element_type::BOOL:
        writer_.boolean(bool(value));
        return;
      case element_type::NULL_VALUE:
        writer_.nil();
        return;
    }
  }

  void packObject(simdjson::dom::object object, const FieldMask* mask) {
    // The members go on one stack shared by all levels: [begin, end) is this object's.
    const size_t begin = members_.size();
    size_t position = 0;
    for (const auto [key, value] : object) {
      const FieldMask* child = nullptr;
      if (mask != nullptr) {
        const auto kept = mask->fields.find(key);
        if (kept == mask->fields.end()) {
          ++position;
          continue;
        }
        child = kept->second.fields.empty() ? nullptr : &kept->second;
      }
      members_.push_back({key, value, child, position++});
    }
    // nlohmann's objects are std::maps: keys in byte order, one value per key, the last given.
    std::sort(members_.begin() + begin, members_.end(), [](const Member& a, const Member& b) {
      return a.key != b.key ? a.key < b.key : a.position < b.position;
    });
    size_t end = begin;
    for (size_t i = begin; i < members_.size(); ++i) {
      if (i + 1 < members_.size() && members_[i + 1].key == members_[i].key) {
        continue;  // a later one with the same key wins
      }
      members_[end++] = members_[i];
    }
    members_.resize(end);
    writer_.mapHeader(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const Member member = members_[i];  // a copy: packing the value grows the stack
      writer_.key(member.key);
      pack(member.value, member.mask);
    }
    members_.resize(begin);
  }

  MsgpackWriter writer_;
  std::vector<Member> members_;
};

// The same for a value already parsed: nlohmann's objects have their keys in order, once.
void packJson(const json& value, const FieldMask* mask, MsgpackWriter& writer,
              std::string& out) {
  switch (value.type()) {
    case json::value_t::object: {
      if (mask == nullptr) {
        writer.mapHeader(value.size());
        for (auto it = value.begin(); it != value.end(); ++it) {
          writer.key(it.key());
          packJson(it.value(), nullptr, writer, out);
        }
        return;
      }
      size_t kept = 0;
      for (auto it = value.begin(); it != value.end(); ++it) {
        kept += mask->fields.count(it.key());
      }
      writer.mapHeader(kept);
      for (auto it = value.begin(); it != value.end(); ++it) {
        const auto field = mask->fields.find(it.key());
        if (field != mask->fields.end()) {
          writer.key(it.key());
          packJson(it.value(), field->second.fields.empty() ? nullptr : &field->second, writer,
                   out);
        }
      }
      return;
    }
    case json::value_t::array:
      writer.arrayHeader(value.size());
      for (const json& item : value) {
        packJson(item, mask, writer, out);
      }
      return;
    case json::value_t::string:
      writer.string(value.get_ref<const std::string&>());
      return;
    case json::value_t::number_integer:
      writer.integer(value.get<int64_t>());
      return;
    case json::value_t::number_unsigned:
      writer.unsignedInteger(value.get<uint64_t>());
      return;
    case json::value_t::number_float:
      writer.number(value.get<double>());
      return;
    case json::value_t::boolean:
      writer.boolean(value.get<bool>());
      return;
    case json::value_t::null:
      writer.nil();
      return;
    case json::value_t::binary:
    case json::value_t::discarded:
      json::to_msgpack(value, out);  // never parsed from JSON; as nlohmann writes them
      return;
  }
}

std::string stringAt(element object, std::string_view key) {
  std::string_view value;
  if (object[key].get(value) != simdjson::SUCCESS) {
    return "";
  }
  return std::string(value);
}

// The fallback for what simdjson cannot take (numbers beyond 64 bits; nlohmann reads them as
// floats) and the judge of invalid text.
StatusOr<PackedList> packWithNlohmann(const std::string& text, const FieldMask* keep,
                                      const std::string& label, const PackedKeys* keys) {
  json list = parseListKeepingWithNlohmann(text, keep != nullptr ? *keep : FieldMask{});
  if (list.is_discarded() || !list.is_object()) {
    return internalError("the list answer is not a JSON object");
  }
  PackedList out;
  const json& metadata = list.value("metadata", json::object());
  if (metadata.is_object()) {
    out.resourceVersion = metadata.value("resourceVersion", "");
    out.continueToken = metadata.value("continue", "");
  }
  const auto items = list.find("items");
  if (items == list.end() || items->is_null()) {
    return out;
  }
  if (!items->is_array()) {
    return internalError("the list answer's items are not an array");
  }
  for (const json& item : *items) {
    PackedListItem packed;
    if (const auto meta = item.find("metadata"); meta != item.end() && meta->is_object()) {
      packed.nameSpace = meta->value("namespace", "");
      packed.name = meta->value("name", "");
    }
    if (const std::string* value = label.empty() ? nullptr : findLabel(item, label)) {
      packed.label = *value;
    }
    MsgpackWriter writer;  // the item is masked already
    writer.setOutput(&packed.packed);
    writer.setKeys(keys);
    packJson(item, nullptr, writer, packed.packed);
    out.items.push_back(std::move(packed));
  }
  return out;
}

}  // namespace

StatusOr<PackedList> packListItems(const std::string& text, const FieldMask* keep,
                                   const std::string& label, const PackedKeys* keys) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) {
    return packWithNlohmann(text, keep, label, keys);
  }
  if (root.type() != element_type::OBJECT) {
    return internalError("the list answer is not a JSON object");
  }
  PackedList out;
  if (element metadata; root["metadata"].get(metadata) == simdjson::SUCCESS) {
    out.resourceVersion = stringAt(metadata, "resourceVersion");
    out.continueToken = stringAt(metadata, "continue");
  }
  element items;
  if (root["items"].get(items) != simdjson::SUCCESS ||
      items.type() == element_type::NULL_VALUE) {
    return out;
  }
  simdjson::dom::array array;
  if (items.get(array) != simdjson::SUCCESS) {
    return internalError("the list answer's items are not an array");
  }
  out.items.reserve(array.size());
  ItemPacker packer(keys);
  const FieldMask* mask = keep != nullptr && !keep->fields.empty() ? keep : nullptr;  // {}: all
  for (const element item : array) {
    PackedListItem packed;
    if (element metadata; item["metadata"].get(metadata) == simdjson::SUCCESS) {
      packed.nameSpace = stringAt(metadata, "namespace");
      packed.name = stringAt(metadata, "name");
      std::string_view value;
      if (!label.empty() && metadata["labels"][label].get(value) == simdjson::SUCCESS) {
        packed.label = std::string(value);
      }
    }
    packer.pack(item, mask, packed.packed);
    packed.packed.shrink_to_fit();
    out.items.push_back(std::move(packed));
  }
  return out;
}

std::string packKeeping(const json& value, const FieldMask* keep, const PackedKeys* keys) {
  std::string out;
  MsgpackWriter writer;
  writer.setOutput(&out);
  writer.setKeys(keys);
  packJson(value, keep != nullptr && !keep->fields.empty() ? keep : nullptr, writer, out);
  out.shrink_to_fit();
  return out;
}

namespace {

// nlohmann's own DOM builder, with each coded key spelled out as it arrives.
class KeyedDomBuilder {
 public:
  KeyedDomBuilder(json& result, const PackedKeys* keys) : dom_(result), keys_(keys) {}

  bool null() { return dom_.null(); }
  bool boolean(bool b) { return dom_.boolean(b); }
  bool number_integer(json::number_integer_t n) { return dom_.number_integer(n); }
  bool number_unsigned(json::number_unsigned_t n) { return dom_.number_unsigned(n); }
  bool number_float(json::number_float_t n, const json::string_t& s) {
    return dom_.number_float(n, s);
  }
  bool string(json::string_t& s) { return dom_.string(s); }
  bool binary(json::binary_t& b) { return dom_.binary(b); }
  bool start_object(std::size_t n) { return dom_.start_object(n); }
  bool key(json::string_t& k) {
    if (keys_ != nullptr) {
      if (const std::string* spelled = keys_->keyOf(k)) {
        json::string_t copy = *spelled;
        return dom_.key(copy);
      }
    }
    return dom_.key(k);
  }
  bool end_object() { return dom_.end_object(); }
  bool start_array(std::size_t n) { return dom_.start_array(n); }
  bool end_array() { return dom_.end_array(); }
  bool parse_error(std::size_t position, const std::string& token,
                   const nlohmann::detail::exception& e) {
    return dom_.parse_error(position, token, e);
  }

 private:
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  const PackedKeys* keys_;
};

}  // namespace

json unpackKeeping(std::string_view packed, const PackedKeys* keys) {
  if (keys == nullptr) {
    return json::from_msgpack(packed);
  }
  json result;
  KeyedDomBuilder builder(result, keys);
  json::sax_parse(packed.begin(), packed.end(), &builder, json::input_format_t::msgpack);
  return result;
}

}  // namespace sandboxd
