#include "native/journal/journal_header.h"

#include <cerrno>
#include <utility>

#include "native/ceph/ceph_decoder.h"
#include "native/ceph/cls_encoding.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t kPageSize = 256;            // cls_journal's JOURNAL_MAX_RETURN
constexpr uint64_t kNotifyTimeoutMs = 5000;    // libjournal's

}  // namespace

Result<JournalHeader> JournalHeader::Open(librados::IoCtx image_io, const std::string& image_id,
                                          const std::string& spec) {
  JournalHeader header(std::move(image_io), image_id, spec);
  auto order = header.Exec("get_order", "");
  if (!order.ok()) {
    if (order.status().code() == ENOENT) return Status::NotFound("image " + spec + " has no journal");
    return order.status();
  }
  auto splay = header.Exec("get_splay_width", "");
  if (!splay.ok()) return splay.status();
  auto pool = header.Exec("get_pool_id", "");
  if (!pool.ok()) return pool.status();
  const std::string answers = order.value() + splay.value() + pool.value();
  CephDecoder d(answers);  // a view: the string must outlive it
  if (!d.U8(&header.layout_.order) || !d.U8(&header.layout_.splay_width) || !d.I64(&header.layout_.pool_id)) {
    return Status::Error(EBADMSG, "journal of " + spec + ": layout: " + d.error());
  }
  // librbd's range of rbd_journal_order: 4 KiB to 64 MiB objects.
  if (header.layout_.splay_width == 0 || header.layout_.order < 12 || header.layout_.order > 26) {
    return Status::Error(EBADMSG, "journal of " + spec + ": layout order " + std::to_string(header.layout_.order) +
                                      ", splay width " + std::to_string(header.layout_.splay_width) +
                                      " is not a journal's");
  }
  return header;
}

std::string JournalHeader::DataObjectName(uint64_t object_number) const {
  return "journal_data." + std::to_string(pool_id_) + "." + image_id_ + "." + std::to_string(object_number);
}

Result<std::string> JournalHeader::Exec(const char* method, const std::string& input) {
  librados::bufferlist in, out;
  in.append(input);
  const int rc = io_.exec(oid_, "journal", method, in, out);
  if (rc < 0) return Status::FromErrno(rc, std::string("journal of ") + spec_ + ": " + method);
  return out.to_str();
}

Status JournalHeader::Notify() {
  librados::bufferlist empty;
  // Watchers that do not answer (a dead client) make it time out; the change
  // is made either way, and they re-read the header when they come back.
  const int rc = io_.notify2(oid_, empty, kNotifyTimeoutMs, nullptr);
  if (rc < 0 && rc != -ETIMEDOUT) return Status::FromErrno(rc, "journal of " + spec_ + ": notify");
  return Status::Ok();
}

Result<JournalSets> JournalHeader::Sets() {
  auto minimum = Exec("get_minimum_set", "");
  if (!minimum.ok()) return minimum.status();
  auto active = Exec("get_active_set", "");
  if (!active.ok()) return active.status();
  JournalSets sets;
  const std::string answers = minimum.value() + active.value();
  CephDecoder d(answers);
  if (!d.U64(&sets.minimum) || !d.U64(&sets.active)) {
    return Status::Error(EBADMSG, "journal of " + spec_ + ": object sets: " + d.error());
  }
  return sets;
}

Result<std::vector<JournalClient>> JournalHeader::Clients() {
  std::vector<JournalClient> clients;
  std::string after;
  while (true) {
    auto out = Exec("client_list", ClientListInput(after, kPageSize));
    if (!out.ok()) return out.status();
    auto page = DecodeJournalClientList(out.value());
    if (!page.ok()) return page.status();
    for (auto& client : page.value()) clients.push_back(std::move(client));
    if (page.value().size() < kPageSize) return clients;
    after = clients.back().id;
  }
}

Result<JournalClient> JournalHeader::Client(const std::string& id) {
  auto out = Exec("get_client", ClientIdInput(id));
  if (!out.ok()) {
    if (out.status().code() == ENOENT) {
      return Status::NotFound("journal of " + spec_ + ": no client '" + id + "' is registered");
    }
    return out.status();
  }
  return DecodeJournalClient(out.value());
}

Status JournalHeader::Register(const std::string& id, const std::string& data) {
  auto out = Exec("client_register", ClientRegisterInput(id, data));
  if (!out.ok()) {
    if (out.status().code() == EEXIST) {
      return Status::Error(EEXIST, "journal of " + spec_ + ": client '" + id + "' is registered already");
    }
    return out.status();
  }
  return Notify();
}

Status JournalHeader::Unregister(const std::string& id) {
  auto out = Exec("client_unregister", ClientIdInput(id));
  if (!out.ok()) {
    if (out.status().code() == ENOENT) {
      return Status::NotFound("journal of " + spec_ + ": no client '" + id + "' is registered");
    }
    return out.status();
  }
  return Notify();
}

Status JournalHeader::Commit(const std::string& id, const JournalCommitPosition& position) {
  auto out = Exec("client_commit", ClientCommitInput(id, position));
  if (!out.ok()) return out.status();
  return Notify();
}

Result<std::vector<JournalTag>> JournalHeader::Tags(const std::string& client_id,
                                                    std::optional<uint64_t> tag_class) {
  std::vector<JournalTag> tags;
  uint64_t after = 0;
  while (true) {
    auto out = Exec("tag_list", TagListInput(after, kPageSize, client_id, tag_class));
    if (!out.ok()) return out.status();
    auto page = DecodeJournalTagList(out.value());
    if (!page.ok()) return page.status();
    for (auto& tag : page.value()) tags.push_back(std::move(tag));
    if (page.value().size() < kPageSize) return tags;
    after = tags.back().tid;
  }
}

Result<JournalTag> JournalHeader::Tag(uint64_t tid) {
  std::string in;
  AppendLe(&in, tid, 8);
  auto out = Exec("get_tag", in);
  if (!out.ok()) {
    if (out.status().code() == ENOENT) {
      return Status::NotFound("journal of " + spec_ + ": tag " + std::to_string(tid) + " does not exist (expired?)");
    }
    return out.status();
  }
  return DecodeJournalTag(out.value());
}

}  // namespace mirror_snapshot
