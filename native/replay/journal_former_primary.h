// The old primary of a journal-mode image after a failover, on its own
// site: the replica of ours promoted on the peer (roles/journal_promote.h)
// has taken its place.
//
// When the old primary was demoted cleanly and the promoted image had
// applied every entry of its journal, both held the same image at the
// promotion; the promote registered a client of this site in the new
// primary's fresh journal before anyone could write there, so that
// journal keeps every entry since. The old primary then becomes the
// replica of the new one by replaying that journal from its first entry:
// a failback without a copy. Otherwise (split-brain after a forced promote,
// writes the promoted image never had, a journal trimmed, a client gone)
// it is refused with the way back: remove the old image, a full copy
// replaces it.
#pragma once

#include <string>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/replay/image_replayer.h"

namespace mirror_snapshot {

// For this site's replayer of the peer's journal-mode primary `remote`
// (global id `remote_global_id`): false when the image of that name here
// is not its former primary (nothing is changed); true when it is and has
// been made its replica (records written, fenced, Ceph's mirroring
// disabled: the step replays onto it from the journal's first entry);
// EEXIST naming why and the way back when it cannot be. Done again whole
// by the next step after a crash anywhere in it.
Result<bool> AdoptFormerJournalPrimary(const ReplayTarget& target, const RbdImage& remote,
                                       const std::string& remote_global_id);

// Image metadata key of an adopted old primary whose own user snapshots
// are still to be reconciled (FinishAdoption).
inline constexpr const char* kJournalAdoptedKey = "mirror_snapshot.journal_adopted";

// With the adopted image held by the step: its user snapshots the new
// primary did not have at its promotion go (taken before the new primary's
// bootstrap, they were never replicated; one created there later under
// the same name would be taken for them by the replay, which accepts a
// snapshot already there after a crash). The key goes last. Nothing to do
// without the key.
Status FinishAdoption(const RbdImage& local, const RbdImage& remote);

// For `image resync` of `name` here: EINVAL saying what it is when it is
// the former primary of the peer's image of that name, Ok otherwise.
Status ExplainFormerJournalPrimary(const IoCtx& io, const std::string& name, const RadosCluster& remote);

}  // namespace mirror_snapshot
