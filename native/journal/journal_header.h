// JournalHeader: an image journal's header object (journal.<image id>, in
// the image's pool and namespace), read and changed through the `journal`
// object class as libjournal does: the layout of the data objects, the
// object sets, the registered clients and their commit positions, the tags.
//
// Every change is followed by a notify on the header, as libjournal sends
// one: librbd re-reads the clients then, and trims what every client has
// committed; without it the primary keeps the journal's objects.
#pragma once

#include <rados/librados.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/journal/journal_records.h"

namespace mirror_snapshot {

struct JournalLayout {
  uint8_t order = 0;        // data objects hold up to 2^order bytes
  uint8_t splay_width = 0;  // objects appended to in parallel
  int64_t pool_id = -1;     // the data objects' pool; -1: the image's pool
};

struct JournalSets {
  uint64_t minimum = 0;  // the oldest object set that may still exist
  uint64_t active = 0;   // the set writers append to
};

class JournalHeader {
 public:
  // `image_io`: the image's pool and namespace (the handle is shared, not
  // copied). ENOENT "image <spec> has no journal" when the header object is
  // missing (journaling is off); the layout is read once here.
  static Result<JournalHeader> Open(librados::IoCtx image_io, const std::string& image_id,
                                    const std::string& spec);

  const JournalLayout& layout() const { return layout_; }
  const std::string& oid() const { return oid_; }
  // journal_data.<image pool id>.<image id>.<n>: named after the header's
  // pool even when the objects live in another one.
  std::string DataObjectName(uint64_t object_number) const;

  Result<JournalSets> Sets();
  Result<std::vector<JournalClient>> Clients();
  // ENOENT when `id` is not registered.
  Result<JournalClient> Client(const std::string& id);
  // EEXIST when `id` is registered already. The new client's commit
  // position is the least advanced registered client's (cls_journal's rule).
  Status Register(const std::string& id, const std::string& data);
  // ENOENT when `id` is not registered.
  Status Unregister(const std::string& id);
  Status Commit(const std::string& id, const JournalCommitPosition& position);
  // The tags `client_id` has not committed past (cls_journal hides older
  // ones), of `tag_class` or of every class, oldest first.
  Result<std::vector<JournalTag>> Tags(const std::string& client_id, std::optional<uint64_t> tag_class);
  // ENOENT when expired (tags older than every client's position go).
  Result<JournalTag> Tag(uint64_t tid);

 private:
  JournalHeader(librados::IoCtx io, std::string image_id, std::string spec)
      : io_(std::move(io)), pool_id_(io_.get_id()), image_id_(std::move(image_id)), spec_(std::move(spec)),
        oid_("journal." + image_id_) {}

  Result<std::string> Exec(const char* method, const std::string& input);
  Status Notify();

  librados::IoCtx io_;
  int64_t pool_id_;  // the header's pool
  std::string image_id_;
  std::string spec_;  // for messages
  std::string oid_;
  JournalLayout layout_;
};

}  // namespace mirror_snapshot
