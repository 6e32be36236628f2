// journal_fuzz: seeded mutations of journal data objects through the entry
// parser and the librbd event decoder, built with AddressSanitizer and
// UndefinedBehaviorSanitizer so that a read past a buffer is a failure, not
// luck.
//
//   journal_fuzz [--iterations N] [--seed S]
//
// ctest runs 200,000 objects (label "unit"); the long run (1,000,000 objects):
//   build/tests/fuzz/journal_fuzz --iterations 1000000 --seed 1
//
// Each iteration builds an object of valid entries (every event type, random
// fields, versions 1 to 6, zero padding between some appends) and mutates it:
// bit flips, random bytes, a length field rewritten, a cut, an insertion, a
// splice of two entries. Checked: no sanitizer report; every entry returned
// re-encodes to exactly the bytes at its offset (its crc matched, so it is
// what a writer wrote); `end` within the input; payloads that decode hold
// views inside their payload. Exit status 1 on the first violation, with the
// seed and iteration to reproduce it.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "native/journal/journal_entry.h"
#include "native/journal/journal_event.h"
#include "tests/unit/native/journal_event_encoder.h"

namespace ms = mirror_snapshot;
using ms::JournalEventType;
using ms::testing::EventWriter;

namespace {

struct Fuzzer {
  std::mt19937_64 rng;
  uint64_t checked_entries = 0;
  uint64_t decoded_events = 0;
  uint64_t rejected_objects = 0;

  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng() % n; }
  std::string Bytes(size_t max) {
    std::string s(Below(max + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }
  uint64_t Number() {
    switch (Below(4)) {
      case 0: return Below(16);
      case 1: return rng();
      case 2: return ~0ull - Below(4);
      default: return Below(1ull << 40);
    }
  }

  std::string RandomPayload() {
    const uint32_t type = static_cast<uint32_t>(Below(22));  // 20 and 21 are unknown types
    const uint8_t version = static_cast<uint8_t>(1 + Below(6));
    EventWriter w(static_cast<JournalEventType>(type), version);
    switch (static_cast<JournalEventType>(type)) {
      case JournalEventType::kAioDiscard: w.U64(Number()).U64(Number()).U8(Below(2)).U32(Number()); break;
      case JournalEventType::kAioWrite:
      case JournalEventType::kAioWriteSame: w.U64(Number()).U64(Number()).Str(Bytes(64)); break;
      case JournalEventType::kAioCompareAndWrite: w.U64(Number()).U64(Number()).Str(Bytes(16)).Str(Bytes(16)); break;
      case JournalEventType::kOpFinish: w.U64(Number()).U64(Number()).U32(Number()); break;
      case JournalEventType::kSnapCreate:
      case JournalEventType::kSnapRemove:
      case JournalEventType::kSnapProtect:
      case JournalEventType::kSnapUnprotect:
      case JournalEventType::kSnapRollback: w.U64(Number()).Str(Bytes(12)).Namespace(Below(4), Bytes(20)); break;
      case JournalEventType::kSnapRename: w.U64(Number()).Str(Bytes(8)).U64(Number()).Str(Bytes(8)); break;
      case JournalEventType::kRename: w.U64(Number()).Str(Bytes(12)); break;
      case JournalEventType::kResize:
      case JournalEventType::kSnapLimit: w.U64(Number()).U64(Number()); break;
      case JournalEventType::kFlatten: w.U64(Number()); break;
      case JournalEventType::kUpdateFeatures: w.U64(Number()).U64(Number()).U8(Below(2)); break;
      case JournalEventType::kMetadataSet: w.U64(Number()).Str(Bytes(8)).Str(Bytes(24)); break;
      case JournalEventType::kMetadataRemove: w.U64(Number()).Str(Bytes(8)); break;
      default: w.Raw(Bytes(24)); break;
    }
    if (Below(8) == 0) w.Raw(Bytes(8));  // fields of a newer librbd
    return w.Payload(static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()));
  }

  // The object's bytes from offset `start` on: padding aligns to the
  // object's offsets, as a writer's does.
  std::string RandomObject(uint64_t start) {
    std::string object;
    const uint64_t tag = Below(4);
    const int entries = 1 + static_cast<int>(Below(6));
    for (int i = 0; i < entries; ++i) {
      object += ms::EncodeJournalEntry(tag + Below(2), Below(8), RandomPayload());
      if (Below(3) == 0) object.resize((start + object.size() + 7) / 8 * 8 - start, '\0');
    }
    return object;
  }

  void Mutate(std::string* object) {
    const int edits = 1 + static_cast<int>(Below(3));
    for (int i = 0; i < edits && !object->empty(); ++i) {
      const size_t at = Below(object->size());
      switch (Below(7)) {
        case 0: (*object)[at] ^= static_cast<char>(1u << Below(8)); break;
        case 1: (*object)[at] = static_cast<char>(rng()); break;
        case 2: object->resize(at); break;
        case 3: object->insert(at, Bytes(16)); break;
        case 4: {  // a 4-byte length rewritten (payload length, a string's length)
          const uint32_t v = static_cast<uint32_t>(Number());
          for (int b = 0; b < 4 && at + b < object->size(); ++b) (*object)[at + b] = static_cast<char>(v >> (8 * b));
          break;
        }
        case 5: object->insert(at, object->substr(Below(object->size()), 1 + Below(64))); break;
        default: object->insert(at, std::string(1 + Below(9), '\0')); break;
      }
    }
  }

  bool Inside(std::string_view inner, std::string_view outer) {
    return inner.empty() || (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
  }

  // False on a violation (printed).
  bool Check(const std::string& object, uint64_t start) {
    auto parsed = ms::ParseJournalObject(object, start);
    if (!parsed.ok()) {
      ++rejected_objects;
      return true;
    }
    const auto& out = parsed.value();
    if (out.end < start || out.end > start + object.size()) {
      std::fprintf(stderr, "end %llu outside [%llu, %llu]\n", static_cast<unsigned long long>(out.end),
                   static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + object.size()));
      return false;
    }
    for (const auto& entry : out.entries) {
      ++checked_entries;
      const std::string framed = ms::EncodeJournalEntry(entry.tag_tid, entry.entry_tid, entry.payload);
      if (entry.offset < start || object.compare(entry.offset - start, framed.size(), framed) != 0 ||
          !Inside(entry.payload, object)) {
        std::fprintf(stderr, "entry at %llu does not re-encode to its bytes\n",
                     static_cast<unsigned long long>(entry.offset));
        return false;
      }
      if (!CheckEvent(entry.payload)) return false;
    }
    return true;
  }

  bool CheckEvent(std::string_view payload) {
    auto event = ms::DecodeJournalEvent(payload);
    if (!event.ok()) return event.status().message().find("journal event") == 0;
    ++decoded_events;
    bool inside = true;
    std::visit([&](const auto& e) {
      using E = std::decay_t<decltype(e)>;
      if constexpr (std::is_same_v<E, ms::AioWriteEvent>) inside = Inside(e.data, payload);
      if constexpr (std::is_same_v<E, ms::AioWriteSameEvent>) inside = Inside(e.pattern, payload);
      if constexpr (std::is_same_v<E, ms::AioCompareAndWriteEvent>) {
        inside = Inside(e.compare_data, payload) && Inside(e.write_data, payload);
      }
    }, event.value().body);
    if (!inside) std::fprintf(stderr, "an event's data view points outside its payload\n");
    return inside;
  }
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = 100000;
  uint64_t seed = 1;
  for (int k = 1; k + 1 < argc; k += 2) {
    const std::string flag = argv[k];
    if (flag == "--iterations") iterations = std::strtoull(argv[k + 1], nullptr, 10);
    else if (flag == "--seed") seed = std::strtoull(argv[k + 1], nullptr, 10);
  }
  Fuzzer fuzzer{std::mt19937_64(seed)};
  for (uint64_t i = 0; i < iterations; ++i) {
    const uint64_t start = fuzzer.Below(2) ? 0 : fuzzer.Below(1 << 20);
    std::string object = fuzzer.RandomObject(start);
    auto whole = ms::ParseJournalObject(object, start);
    if (!whole.ok() || whole.value().incomplete_tail || whole.value().end != start + object.size() ||
        !fuzzer.Check(object, start)) {  // unmutated: all of it parses
      if (!whole.ok()) std::fprintf(stderr, "%s\n", whole.status().message().c_str());
      std::fprintf(stderr, "violation on a valid object: --seed %llu, iteration %llu\n",
                   static_cast<unsigned long long>(seed), static_cast<unsigned long long>(i));
      return 1;
    }
    fuzzer.Mutate(&object);
    if (!fuzzer.Check(object, start) || !fuzzer.CheckEvent(object)) {
      std::fprintf(stderr, "violation: --seed %llu, iteration %llu\n", static_cast<unsigned long long>(seed),
                   static_cast<unsigned long long>(i));
      return 1;
    }
  }
  std::printf("journal_fuzz: %llu objects (seed %llu): %llu entries re-encoded, %llu events decoded, "
              "%llu mutated objects rejected\n",
              static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(fuzzer.checked_entries),
              static_cast<unsigned long long>(fuzzer.decoded_events),
              static_cast<unsigned long long>(fuzzer.rejected_objects));
  return 0;
}
