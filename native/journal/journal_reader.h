// JournalReader: the entries of an image journal a client has not
// committed yet, read from the data objects and put in replay order
// (journal_sequence.h).
//
// It reads every object from the object set of the client's oldest commit
// position (the journal's minimum set when it has none) up to the active
// set. An object that does not exist reads as empty; an entry cut short is
// waited for in the active set and an error in a closed one (a torn entry).
#pragma once

#include <rados/librados.hpp>

#include <memory>
#include <string>
#include <vector>

#include "native/base/memory_budget.h"
#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/journal/journal_header.h"
#include "native/journal/journal_sequence.h"

namespace mirror_snapshot {

struct UncommittedEntries {
  MemoryHold memory;                // `objects`' bytes, taken from the read's budget (given back last)
  JournalCommitPosition committed;  // the client's position the read started from
  JournalSets sets;
  JournalSequence sequence;         // its entries' payloads point into `objects`
  std::vector<std::unique_ptr<std::string>> objects;
  uint64_t objects_read = 0;
  uint64_t bytes_read = 0;
  uint64_t next_set = 0;            // the first object set not read (past the active one: all were)
};

// Where the journal of `image` keeps its data objects: the image's pool and
// namespace, or the journal's own pool (`rbd journal pool`), whose objects
// libjournal names without a namespace.
Result<librados::IoCtx> OpenJournalDataObjects(const RadosCluster& cluster, const RbdImage& image,
                                               const JournalLayout& layout);

class JournalReader {
 public:
  // `header` is kept by the caller and outlives the reader; `data_io` from
  // OpenJournalDataObjects.
  JournalReader(JournalHeader* header, librados::IoCtx data_io) : header_(header), data_io_(std::move(data_io)) {}

  // How much one read may hold. Whole object sets are read until
  // `max_bytes` were (at least one set, however large it is). With a
  // `budget`, the objects' bytes are taken from it (held by the result): a
  // set past the first is read only if its bytes fit (as stat gives them),
  // unless `beyond_budget` (a read that must go further than the last one
  // to make progress).
  struct Limits {
    uint64_t max_bytes = UINT64_MAX;
    MemoryBudget* budget = nullptr;
    bool beyond_budget = false;
  };

  // ENOENT when `client_id` is not registered; EBADMSG for corruption
  // (journal_entry.h) or a lost entry (journal_sequence.h). The sequence
  // says read_more when sets were left.
  Result<UncommittedEntries> ReadUncommitted(const std::string& client_id, const Limits& limits);
  Result<UncommittedEntries> ReadUncommitted(const std::string& client_id, uint64_t max_bytes = UINT64_MAX) {
    return ReadUncommitted(client_id, Limits{max_bytes, nullptr, false});
  }

  // The bytes the data objects of object sets [first, last] hold (objects
  // that do not exist hold none).
  Result<uint64_t> BytesInSets(uint64_t first, uint64_t last);

 private:
  JournalHeader* header_;
  librados::IoCtx data_io_;
};

}  // namespace mirror_snapshot
