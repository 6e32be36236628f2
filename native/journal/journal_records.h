// The records the `journal` object class keeps in a journal's header object
// (journal.<image id>) and the inputs of the class methods that change them.
// Pure: bytes in, records out, and back.
//
// cls_journal's own structs are versioned (1, 1): ObjectPosition, the
// ObjectSetPosition of a client's commit, Client, Tag. Inside a Client and
// a Tag, librbd keeps its own data: ClientData (a versioned (2, 1) struct:
// u32 type, then the type's fields) and TagData (not versioned).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "native/base/result.h"

namespace mirror_snapshot {

struct JournalPosition {
  uint64_t object_number = 0;
  uint64_t tag_tid = 0;
  uint64_t entry_tid = 0;
  bool operator==(const JournalPosition&) const = default;
};

// A client's commit position: newest first, at most one per splay offset.
using JournalCommitPosition = std::vector<JournalPosition>;

// How many entries `behind` has not committed that `ahead` has (both commit
// positions; libjournal numbers entries per tag from 0). Within one tag the
// difference; across a tag change the entries of `ahead`'s tag (those of
// the older tag left are not counted: a lower bound, as rbd-mirror's own
// figure). 0 when `behind` is not behind.
uint64_t EntriesBehind(const JournalCommitPosition& ahead, const JournalCommitPosition& behind);

enum class JournalClientState : uint8_t { kConnected = 0, kDisconnected = 1 };

struct JournalClient;

// Every client of a journal but the image's own (id ""), with how many
// entries it is behind the image's own client: who keeps the primary from
// trimming its journal.
struct JournalClientLag {
  std::string id;
  bool connected = true;
  uint64_t entries_behind = 0;
};
std::vector<JournalClientLag> ClientLags(const std::vector<JournalClient>& clients);

struct JournalClient {
  std::string id;
  std::string data;  // librbd's ClientData, encoded
  JournalCommitPosition commit_position;
  JournalClientState state = JournalClientState::kConnected;
};

struct JournalTag {
  uint64_t tid = 0;
  uint64_t tag_class = 0;
  std::string data;  // librbd's TagData, encoded
};

// librbd's TagData: who owned the journal under this tag ("" = the image's
// own primary, "<orphan>" = demoted, else a remote mirror uuid) and the
// position the tag follows on from.
struct JournalTagData {
  std::string mirror_uuid;
  std::string predecessor_mirror_uuid;
  bool predecessor_commit_valid = false;
  uint64_t predecessor_tag_tid = 0;
  uint64_t predecessor_entry_tid = 0;
};

inline constexpr std::string_view kOrphanMirrorUuid = "<orphan>";

// librbd's ClientData types.
enum class JournalClientType : uint32_t { kImage = 0, kMirrorPeer = 1, kCli = 2 };
// MirrorPeerClientMeta's states.
enum class JournalMirrorPeerState : uint32_t { kSyncing = 0, kReplaying = 1 };

// The fields of librbd's ClientData this replayer reads: the image client's
// tag class, and a mirror peer's image id and state; others stay unread.
struct JournalClientData {
  uint32_t type = 0;
  uint64_t tag_class = 0;              // kImage
  bool resync_requested = false;       // kImage
  std::string image_id;                // kMirrorPeer: the replica's image id
  uint32_t mirror_peer_state = 0;      // kMirrorPeer
};

Result<JournalClient> DecodeJournalClient(std::string_view bytes);
Result<JournalTag> DecodeJournalTag(std::string_view bytes);
Result<JournalTagData> DecodeJournalTagData(std::string_view bytes);
Result<JournalClientData> DecodeJournalClientData(std::string_view bytes);
// client_list's answer: set<Client>.
Result<std::vector<JournalClient>> DecodeJournalClientList(std::string_view bytes);
// tag_list's answer: set<Tag>.
Result<std::vector<JournalTag>> DecodeJournalTagList(std::string_view bytes);

// ClientData of a mirror peer (what rbd-mirror registers, and this
// replayer too: librbd decodes every client's data when mirroring is
// disabled, so it must be a valid record).
std::string EncodeMirrorPeerClientData(const std::string& local_image_id, JournalMirrorPeerState state);
std::string EncodeJournalCommitPosition(const JournalCommitPosition& position);
std::string EncodeJournalTagData(const JournalTagData& data);

// Inputs of the class methods (a string id first where there is one).
std::string ClientRegisterInput(const std::string& id, const std::string& data);
std::string ClientIdInput(const std::string& id);  // get_client, client_unregister
std::string ClientCommitInput(const std::string& id, const JournalCommitPosition& position);
std::string ClientListInput(const std::string& start_after, uint64_t max_return);
std::string TagListInput(uint64_t start_after_tid, uint64_t max_return, const std::string& client_id,
                         std::optional<uint64_t> tag_class);

}  // namespace mirror_snapshot
