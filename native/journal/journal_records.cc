#include "native/journal/journal_records.h"

#include <cerrno>

#include "native/ceph/ceph_decoder.h"
#include "native/ceph/cls_encoding.h"

namespace mirror_snapshot {
namespace {

template <typename T>
Result<T> Finish(const CephDecoder& d, const char* what, T value) {
  if (!d.ok()) return Status::Error(EBADMSG, std::string(what) + ": " + d.error());
  return value;
}

bool ReadPosition(CephDecoder& d, JournalPosition* p) {
  uint8_t version = 0;
  CephDecoder body{std::string_view()};
  if (!d.Struct(1, "object position", &version, &body)) return false;
  body.U64(&p->object_number) && body.U64(&p->tag_tid) && body.U64(&p->entry_tid);
  return d.Absorb(body);
}

bool ReadCommitPosition(CephDecoder& d, JournalCommitPosition* positions) {
  uint8_t version = 0;
  CephDecoder body{std::string_view()};
  if (!d.Struct(1, "object set position", &version, &body)) return false;
  uint32_t count = 0;
  if (body.U32(&count)) {
    for (uint32_t i = 0; i < count && body.ok(); ++i) {
      JournalPosition p;
      if (ReadPosition(body, &p)) positions->push_back(p);
    }
  }
  return d.Absorb(body);
}

bool ReadClient(CephDecoder& d, JournalClient* client) {
  uint8_t version = 0;
  CephDecoder body{std::string_view()};
  if (!d.Struct(1, "client", &version, &body)) return false;
  std::string_view data;
  uint8_t state = 0;
  if (body.String(&client->id) && body.Bytes(&data) && ReadCommitPosition(body, &client->commit_position) &&
      body.U8(&state)) {
    client->data.assign(data);
    client->state = static_cast<JournalClientState>(state);
  }
  return d.Absorb(body);
}

bool ReadTag(CephDecoder& d, JournalTag* tag) {
  uint8_t version = 0;
  CephDecoder body{std::string_view()};
  if (!d.Struct(1, "tag", &version, &body)) return false;
  std::string_view data;
  if (body.U64(&tag->tid) && body.U64(&tag->tag_class) && body.Bytes(&data)) tag->data.assign(data);
  return d.Absorb(body);
}

// A set<T> of a class method's answer: u32 count, then the items.
template <typename T, bool (*Read)(CephDecoder&, T*)>
Result<std::vector<T>> DecodeSet(std::string_view bytes, const char* what) {
  CephDecoder d(bytes);
  std::vector<T> items;
  uint32_t count = 0;
  if (d.U32(&count)) {
    for (uint32_t i = 0; i < count && d.ok(); ++i) {
      T item;
      if (Read(d, &item)) items.push_back(std::move(item));
    }
  }
  return Finish(d, what, std::move(items));
}

void AppendPosition(std::string* out, const JournalPosition& p) {
  std::string body;
  AppendLe(&body, p.object_number, 8);
  AppendLe(&body, p.tag_tid, 8);
  AppendLe(&body, p.entry_tid, 8);
  AppendVersioned(out, 1, 1, body);
}

}  // namespace

Result<JournalClient> DecodeJournalClient(std::string_view bytes) {
  CephDecoder d(bytes);
  JournalClient client;
  ReadClient(d, &client);
  return Finish(d, "journal client", std::move(client));
}

Result<JournalTag> DecodeJournalTag(std::string_view bytes) {
  CephDecoder d(bytes);
  JournalTag tag;
  ReadTag(d, &tag);
  return Finish(d, "journal tag", std::move(tag));
}

Result<std::vector<JournalClient>> DecodeJournalClientList(std::string_view bytes) {
  return DecodeSet<JournalClient, ReadClient>(bytes, "journal client list");
}

Result<std::vector<JournalTag>> DecodeJournalTagList(std::string_view bytes) {
  return DecodeSet<JournalTag, ReadTag>(bytes, "journal tag list");
}

Result<JournalTagData> DecodeJournalTagData(std::string_view bytes) {
  CephDecoder d(bytes);
  JournalTagData t;
  d.String(&t.mirror_uuid) && d.String(&t.predecessor_mirror_uuid) && d.Bool(&t.predecessor_commit_valid) &&
      d.U64(&t.predecessor_tag_tid) && d.U64(&t.predecessor_entry_tid);
  return Finish(d, "journal tag data", std::move(t));
}

Result<JournalClientData> DecodeJournalClientData(std::string_view bytes) {
  CephDecoder d(bytes);
  JournalClientData c;
  uint8_t version = 0;
  CephDecoder body{std::string_view()};
  if (d.Struct(2, "client data", &version, &body) && body.U32(&c.type)) {
    switch (static_cast<JournalClientType>(c.type)) {
      case JournalClientType::kImage:
        body.U64(&c.tag_class) && body.Bool(&c.resync_requested);
        break;
      case JournalClientType::kMirrorPeer:
        body.String(&c.image_id) && body.U32(&c.mirror_peer_state);
        break;
      default:
        break;
    }
  }
  d.Absorb(body);
  return Finish(d, "journal client data", std::move(c));
}

std::string EncodeMirrorPeerClientData(const std::string& local_image_id, JournalMirrorPeerState state) {
  std::string body;
  AppendLe(&body, static_cast<uint32_t>(JournalClientType::kMirrorPeer), 4);
  AppendBytes(&body, local_image_id);
  AppendLe(&body, static_cast<uint32_t>(state), 4);
  AppendLe(&body, 0, 8);  // sync_object_count
  AppendLe(&body, 0, 4);  // no sync points
  AppendLe(&body, 0, 4);  // no snap_seqs
  std::string out;
  AppendVersioned(&out, 2, 1, body);
  return out;
}

std::string EncodeJournalCommitPosition(const JournalCommitPosition& position) {
  std::string body;
  AppendLe(&body, position.size(), 4);
  for (const auto& p : position) AppendPosition(&body, p);
  std::string out;
  AppendVersioned(&out, 1, 1, body);
  return out;
}

std::string EncodeJournalTagData(const JournalTagData& data) {
  std::string out;
  AppendBytes(&out, data.mirror_uuid);
  AppendBytes(&out, data.predecessor_mirror_uuid);
  AppendLe(&out, data.predecessor_commit_valid ? 1 : 0, 1);
  AppendLe(&out, data.predecessor_tag_tid, 8);
  AppendLe(&out, data.predecessor_entry_tid, 8);
  return out;
}

std::string ClientRegisterInput(const std::string& id, const std::string& data) {
  std::string in;
  AppendBytes(&in, id);
  AppendBytes(&in, data);
  return in;
}

std::string ClientIdInput(const std::string& id) {
  std::string in;
  AppendBytes(&in, id);
  return in;
}

std::string ClientCommitInput(const std::string& id, const JournalCommitPosition& position) {
  return ClientIdInput(id) + EncodeJournalCommitPosition(position);
}

std::string ClientListInput(const std::string& start_after, uint64_t max_return) {
  std::string in = ClientIdInput(start_after);
  AppendLe(&in, max_return, 8);
  return in;
}

std::string TagListInput(uint64_t start_after_tid, uint64_t max_return, const std::string& client_id,
                         std::optional<uint64_t> tag_class) {
  std::string in;
  AppendLe(&in, start_after_tid, 8);
  AppendLe(&in, max_return, 8);
  AppendBytes(&in, client_id);
  AppendLe(&in, tag_class ? 1 : 0, 1);
  if (tag_class) AppendLe(&in, *tag_class, 8);
  return in;
}

uint64_t EntriesBehind(const JournalCommitPosition& ahead, const JournalCommitPosition& behind) {
  if (ahead.empty()) return 0;
  const JournalPosition& a = ahead.front();
  if (behind.empty()) return a.entry_tid + 1;
  const JournalPosition& b = behind.front();
  if (a.tag_tid == b.tag_tid) return a.entry_tid > b.entry_tid ? a.entry_tid - b.entry_tid : 0;
  return a.tag_tid > b.tag_tid ? a.entry_tid + 1 : 0;
}

std::vector<JournalClientLag> ClientLags(const std::vector<JournalClient>& clients) {
  JournalCommitPosition writer;
  for (const auto& client : clients) {
    if (client.id.empty()) writer = client.commit_position;
  }
  std::vector<JournalClientLag> lags;
  for (const auto& client : clients) {
    if (client.id.empty()) continue;
    lags.push_back({client.id, client.state == JournalClientState::kConnected,
                    EntriesBehind(writer, client.commit_position)});
  }
  return lags;
}

}  // namespace mirror_snapshot
