// Level specs: where a schedule is attached, written the way Ceph's
// rbd_support writes them.
//
//   ""              global
//   "pool/"         every image of a pool (all namespaces)
//   "pool/ns/"      every image of a namespace; "pool//" is the default namespace
//   "pool/image"    one image of the default namespace (also "pool//image")
//   "pool/ns/image" one image of a namespace
//
// An image uses the schedules of the most specific level that has any:
// image, then its namespace, then its pool, then global.
#pragma once

#include <array>
#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/result.h"

namespace mirror_snapshot::scheduler {

enum class LevelKind { kGlobal, kPool, kNamespace, kImage };

struct LevelSpec {
  LevelKind kind = LevelKind::kGlobal;
  std::string pool;   // empty only at global level
  std::string ns;     // namespace; "" is the default namespace (namespace and image levels)
  std::string image;  // image levels only

  static LevelSpec Global() { return {}; }
  static LevelSpec Pool(std::string pool);
  static LevelSpec Namespace(std::string pool, std::string ns);
  static LevelSpec Image(std::string pool, std::string ns, std::string image);

  // Canonical text: "", "pool/", "pool/ns/", "pool//", "pool/image", "pool/ns/image".
  // ParseLevelSpec(ToString()) gives back an equal spec.
  std::string ToString() const;

  // The next less specific level (image -> namespace -> pool -> global);
  // nullopt for global.
  std::optional<LevelSpec> Parent() const;

  friend bool operator==(const LevelSpec&, const LevelSpec&) = default;
  friend auto operator<=>(const LevelSpec&, const LevelSpec&) = default;
};

// Rejects: a missing '/' after the pool ("rbd" -> write "rbd/"), empty pool
// or image names, '@' in image names, control characters anywhere, names
// longer than 1024 bytes, and more than three components.
Result<LevelSpec> ParseLevelSpec(std::string_view text);

// The levels an image inherits schedules from, most specific first:
// image, namespace (the default namespace is "pool//"), pool, global.
std::array<LevelSpec, 4> InheritanceChain(std::string_view pool, std::string_view ns,
                                           std::string_view image);

// The first level of the image's inheritance chain for which
// `has_schedule(const LevelSpec&)` is true, or nullopt if none is.
template <typename HasSchedule>
std::optional<LevelSpec> ApplicableLevel(std::string_view pool, std::string_view ns,
                                          std::string_view image, HasSchedule&& has_schedule) {
  for (auto& level : InheritanceChain(pool, ns, image)) {
    if (has_schedule(static_cast<const LevelSpec&>(level))) return std::move(level);
  }
  return std::nullopt;
}

}  // namespace mirror_snapshot::scheduler
