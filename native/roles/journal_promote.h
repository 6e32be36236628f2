// Promote of a journal-mode replica (native/replay/journal_image_replayer.h):
// the replica becomes a journal-mode primary holding what it had applied.
//
// A replay step stops between two passes, each flushed before it commits,
// so a replica the replayer paused holds the primary's image as of its
// commit position: the consistency point. Without `force`, the primary must
// be demoted (rbd's demote appends its demotion to the journal) and every
// entry of its journal replayed here; with it, the replica is promoted as it
// stands (the recovery point is the time of the last entry applied). Either
// way the replica must be one the replayer alone wrote (fenced, or held by
// the lock of the step it last ran) and its bootstrap finished: a copy in
// progress holds no image of the primary.
//
// Order, so that a retried or interrupted promote is finished by the next
// call: the fence lifted and the lock held, `promoted` recorded (the
// replayer stops replaying into it), the journaling feature and Ceph's
// journal mirroring enabled, the journal record removed last.
#pragma once

#include <string>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/roles/role_change.h"

namespace mirror_snapshot {

// Whether `name` (in `io`) is a journal replica (its record is there until
// its promote is done), or a journal-mode primary PromoteJournalReplica
// made of one: promote dispatches on it.
Result<bool> IsJournalReplica(const IoCtx& io, const std::string& name);

Result<PromoteReport> PromoteJournalReplica(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                            const RadosCluster* remote, bool force);

}  // namespace mirror_snapshot
