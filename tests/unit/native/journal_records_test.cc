#include "native/journal/journal_records.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <string>

#include "native/ceph/cls_encoding.h"

namespace mirror_snapshot {
namespace {

// Hex digits, and "quoted text" taken as its bytes.
std::string Bytes(std::string_view spec) {
  std::string out;
  std::string digits;
  bool quoted = false;
  for (char c : spec) {
    if (c == '"') {
      quoted = !quoted;
    } else if (quoted) {
      out.push_back(c);
    } else if (std::isxdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
      if (digits.size() == 2) {
        out.push_back(static_cast<char>(std::stoi(digits, nullptr, 16)));
        digits.clear();
      }
    }
  }
  return out;
}

std::string Zeros(size_t n) { return std::string(n, '\0'); }
std::string U64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}

// The fact sheet's encodings (../shared/facts/journal-format.md §6.1).
TEST(JournalRecords, MirrorPeerClientRegistrationIsLibrbdsRecord) {
  const std::string expected = Bytes(R"(0b 00 00 00 "my-replayer" 2a 00 00 00
      02 01 24 00 00 00 01 00 00 00 08 00 00 00 "1234abcd" 01 00 00 00)") + Zeros(8) + Zeros(4) + Zeros(4);
  EXPECT_EQ(ClientRegisterInput("my-replayer",
                                EncodeMirrorPeerClientData("1234abcd", JournalMirrorPeerState::kReplaying)),
            expected);
  auto data = DecodeJournalClientData(EncodeMirrorPeerClientData("1234abcd", JournalMirrorPeerState::kReplaying));
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data.value().type, 1u);
  EXPECT_EQ(data.value().image_id, "1234abcd");
  EXPECT_EQ(data.value().mirror_peer_state, 1u);
}

TEST(JournalRecords, CommitInputListsPositionsNewestFirst) {
  const std::string expected = Bytes(R"(0b 00 00 00 "my-replayer" 01 01 40 00 00 00 02 00 00 00
      01 01 18 00 00 00)") + U64(1) + U64(1) + U64(1) + Bytes("01 01 18 00 00 00") + U64(0) + U64(1) + U64(0);
  EXPECT_EQ(ClientCommitInput("my-replayer", {{1, 1, 1}, {0, 1, 0}}), expected);
}

TEST(JournalRecords, TagListInput) {
  EXPECT_EQ(TagListInput(0, 256, "client", 0), U64(0) + U64(256) + Bytes(R"(06 00 00 00 "client" 01)") + U64(0));
  EXPECT_EQ(TagListInput(7, 2, "", std::nullopt), U64(7) + U64(2) + Zeros(4) + Zeros(1));
}

TEST(JournalRecords, ThePrimarysTagDataIs25ZeroBytes) {
  EXPECT_EQ(EncodeJournalTagData({}), Zeros(25));
  JournalTagData demoted{std::string(kOrphanMirrorUuid), "", true, 3, 17};
  auto back = DecodeJournalTagData(EncodeJournalTagData(demoted));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().mirror_uuid, "<orphan>");
  EXPECT_TRUE(back.value().predecessor_commit_valid);
  EXPECT_EQ(back.value().predecessor_tag_tid, 3u);
  EXPECT_EQ(back.value().predecessor_entry_tid, 17u);
}

// librbd's own client record of a fresh journal, as `rados listomapvals
// journal.<id>` showed it on the sandbox (key "client_").
TEST(JournalRecords, AClientRecordWrittenByLibrbd) {
  const std::string record = Bytes(
      "01 01 26 00 00 00 00 00 00 00 13 00 00 00 02 01 0d 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
      "00 01 01 04 00 00 00 00 00 00 00 00");
  auto client = DecodeJournalClient(record);
  ASSERT_TRUE(client.ok()) << client.status().message();
  EXPECT_EQ(client.value().id, "");
  EXPECT_TRUE(client.value().commit_position.empty());
  EXPECT_EQ(client.value().state, JournalClientState::kConnected);
  auto data = DecodeJournalClientData(client.value().data);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data.value().type, 0u);  // the image's own client
  EXPECT_EQ(data.value().tag_class, 0u);
  EXPECT_FALSE(data.value().resync_requested);
}

TEST(JournalRecords, ClientAndTagListsRoundTrip) {
  std::string client;
  AppendVersioned(&client, 1, 1,
                  ClientIdInput("peer") + ClientIdInput("data") + EncodeJournalCommitPosition({{5, 2, 9}}) +
                      std::string(1, '\1'));
  std::string list;
  AppendLe(&list, 2, 4);
  list += client + client;
  auto clients = DecodeJournalClientList(list);
  ASSERT_TRUE(clients.ok()) << clients.status().message();
  ASSERT_EQ(clients.value().size(), 2u);
  EXPECT_EQ(clients.value()[1].id, "peer");
  EXPECT_EQ(clients.value()[1].data, "data");
  EXPECT_EQ(clients.value()[1].commit_position, (JournalCommitPosition{{5, 2, 9}}));
  EXPECT_EQ(clients.value()[1].state, JournalClientState::kDisconnected);

  std::string tag_body;
  AppendLe(&tag_body, 4, 8);
  AppendLe(&tag_body, 0, 8);
  AppendBytes(&tag_body, EncodeJournalTagData({}));
  std::string tags;
  AppendLe(&tags, 1, 4);
  AppendVersioned(&tags, 1, 1, tag_body);
  auto decoded = DecodeJournalTagList(tags);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded.value().size(), 1u);
  EXPECT_EQ(decoded.value()[0].tid, 4u);
  EXPECT_EQ(decoded.value()[0].data, Zeros(25));
}

TEST(JournalRecords, TruncatedRecordsAreErrors) {
  const std::string list = [] {
    std::string body = ClientIdInput("x") + ClientIdInput("") + EncodeJournalCommitPosition({{1, 1, 1}}) +
                       std::string(1, '\0');
    std::string one;
    AppendVersioned(&one, 1, 1, body);
    std::string l;
    AppendLe(&l, 1, 4);
    return l + one;
  }();
  for (size_t cut = 0; cut < list.size(); ++cut) {
    auto clients = DecodeJournalClientList(std::string_view(list).substr(0, cut));
    ASSERT_FALSE(clients.ok()) << cut;
    EXPECT_EQ(clients.status().code(), EBADMSG);
  }
  auto count_lies = DecodeJournalClientList(Bytes("05 00 00 00"));
  EXPECT_FALSE(count_lies.ok());
}

TEST(JournalRecords, EntriesBehindCountsWithinATagAndTheNewerTagAcrossOne) {
  // {object_number, tag_tid, entry_tid}, newest first.
  EXPECT_EQ(EntriesBehind({}, {}), 0u);                              // nothing committed by the writer
  EXPECT_EQ(EntriesBehind({{3, 2, 9}, {2, 2, 8}}, {}), 10u);         // nothing replayed: entries 0..9 of tag 2
  EXPECT_EQ(EntriesBehind({{3, 2, 9}}, {{1, 2, 4}}), 5u);            // same tag
  EXPECT_EQ(EntriesBehind({{3, 2, 9}}, {{3, 2, 9}}), 0u);            // caught up
  EXPECT_EQ(EntriesBehind({{3, 2, 9}}, {{4, 2, 12}}), 0u);           // the replayer read past the writer's commit
  EXPECT_EQ(EntriesBehind({{5, 3, 2}}, {{3, 2, 9}}), 3u);            // a newer tag: at least its 3 entries
  EXPECT_EQ(EntriesBehind({{3, 2, 9}}, {{5, 3, 0}}), 0u);            // the replayer is on a newer tag
}

TEST(JournalRecords, ClientLagsAreEveryPeerAgainstTheImagesOwnClient) {
  JournalClient writer{"", "", {{3, 2, 9}}, JournalClientState::kConnected};
  JournalClient ours{"mirror_snapshot.f", "", {{1, 2, 4}}, JournalClientState::kConnected};
  JournalClient gone{"rbd-mirror.x", "", {}, JournalClientState::kDisconnected};
  const auto lags = ClientLags({ours, writer, gone});
  ASSERT_EQ(lags.size(), 2u);
  EXPECT_EQ(lags[0].id, "mirror_snapshot.f");
  EXPECT_TRUE(lags[0].connected);
  EXPECT_EQ(lags[0].entries_behind, 5u);
  EXPECT_EQ(lags[1].id, "rbd-mirror.x");
  EXPECT_FALSE(lags[1].connected);
  EXPECT_EQ(lags[1].entries_behind, 10u);
}

}  // namespace
}  // namespace mirror_snapshot
