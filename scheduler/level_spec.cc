#include "scheduler/level_spec.h"

#include <utility>

#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

namespace {

constexpr std::size_t kMaxNameLength = 1024;

// nullopt when the name is acceptable, else why not.
std::optional<std::string> name_problem(std::string_view what, std::string_view name,
                                        bool allow_empty, bool allow_at) {
  if (name.empty()) {
    if (allow_empty) return std::nullopt;
    return std::string(what) + " name is empty";
  }
  if (name.size() > kMaxNameLength)
    return std::string(what) + " name is longer than " + std::to_string(kMaxNameLength) + " bytes";
  for (char c : name) {
    if (text::IsControl(c))
      return std::string(what) + " name " + text::Quoted(name) + " contains a control character";
    if (c == '@' && !allow_at)
      return std::string(what) + " name " + text::Quoted(name) +
             " contains '@' (reserved for snapshot names)";
  }
  return std::nullopt;
}

}  // namespace

LevelSpec LevelSpec::Pool(std::string pool) {
  LevelSpec s;
  s.kind = LevelKind::kPool;
  s.pool = std::move(pool);
  return s;
}

LevelSpec LevelSpec::Namespace(std::string pool, std::string ns) {
  LevelSpec s;
  s.kind = LevelKind::kNamespace;
  s.pool = std::move(pool);
  s.ns = std::move(ns);
  return s;
}

LevelSpec LevelSpec::Image(std::string pool, std::string ns, std::string image) {
  LevelSpec s;
  s.kind = LevelKind::kImage;
  s.pool = std::move(pool);
  s.ns = std::move(ns);
  s.image = std::move(image);
  return s;
}

std::string LevelSpec::ToString() const {
  switch (kind) {
    case LevelKind::kGlobal:
      return "";
    case LevelKind::kPool:
      return pool + "/";
    case LevelKind::kNamespace:
      return pool + "/" + ns + "/";
    case LevelKind::kImage:
      return ns.empty() ? pool + "/" + image : pool + "/" + ns + "/" + image;
  }
  return "";
}

std::optional<LevelSpec> LevelSpec::Parent() const {
  switch (kind) {
    case LevelKind::kGlobal:
      return std::nullopt;
    case LevelKind::kPool:
      return Global();
    case LevelKind::kNamespace:
      return Pool(pool);
    case LevelKind::kImage:
      return Namespace(pool, ns);
  }
  return std::nullopt;
}

Result<LevelSpec> ParseLevelSpec(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return BadInput{"level spec " + text::Quoted(text) + ": " + why};
  };
  if (text.empty()) return LevelSpec::Global();

  // Split on '/'; at most three components plus the trailing empty one.
  std::array<std::string_view, 3> part;
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = text.find('/', start);
    std::string_view piece =
        text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (count == part.size()) return fail("too many components (at most pool/namespace/image)");
    part[count++] = piece;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }

  if (count == 1) return fail("missing '/' after the pool name (write " + text::Quoted(std::string(text) + "/") + " for a pool)");
  if (auto why = name_problem("pool", part[0], false, true)) return fail(*why);

  if (count == 2) {
    if (part[1].empty()) return LevelSpec::Pool(std::string(part[0]));  // "pool/"
    if (auto why = name_problem("image", part[1], false, false)) return fail(*why);
    return LevelSpec::Image(std::string(part[0]), "", std::string(part[1]));  // "pool/image"
  }

  // count == 3: "pool/ns/" or "pool/ns/image" (ns may be empty: default namespace).
  if (auto why = name_problem("namespace", part[1], true, true)) return fail(*why);
  if (part[2].empty()) return LevelSpec::Namespace(std::string(part[0]), std::string(part[1]));
  if (auto why = name_problem("image", part[2], false, false)) return fail(*why);
  return LevelSpec::Image(std::string(part[0]), std::string(part[1]), std::string(part[2]));
}

std::array<LevelSpec, 4> InheritanceChain(std::string_view pool, std::string_view ns,
                                           std::string_view image) {
  return {LevelSpec::Image(std::string(pool), std::string(ns), std::string(image)),
          LevelSpec::Namespace(std::string(pool), std::string(ns)),
          LevelSpec::Pool(std::string(pool)), LevelSpec::Global()};
}

}  // namespace mirror_snapshot::scheduler
