#include "native/ceph/rados_cluster.h"

#include <array>
#include <cerrno>
#include <cstdlib>

namespace mirror_snapshot {
namespace {

// Owns a created-but-not-yet-connected handle until it is handed over.
class PendingHandle {
 public:
  PendingHandle() = default;
  ~PendingHandle() {
    if (cluster_ != nullptr) rados_shutdown(cluster_);
  }
  PendingHandle(const PendingHandle&) = delete;
  PendingHandle& operator=(const PendingHandle&) = delete;

  rados_t* out() { return &cluster_; }
  rados_t get() const { return cluster_; }
  rados_t release() {
    rados_t c = cluster_;
    cluster_ = nullptr;
    return c;
  }

 private:
  rados_t cluster_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<RadosCluster>> RadosCluster::FromContext(rados_config_t context) {
  if (context == nullptr) return Status::InvalidArgument("no Ceph context given");
  PendingHandle pending;
  int rc = rados_create_with_context(pending.out(), context);
  if (rc < 0) return Status::FromErrno(rc, "rados_create_with_context");
  rc = rados_connect(pending.get());
  if (rc < 0) return Status::FromErrno(rc, "connecting to the local cluster");
  return std::unique_ptr<RadosCluster>(new RadosCluster(pending.release()));
}

Result<std::unique_ptr<RadosCluster>> RadosCluster::Connect(const ConnectOptions& options) {
  PendingHandle pending;
  int rc = rados_create2(pending.out(), "ceph", options.entity_name.c_str(), 0);
  if (rc < 0) return Status::FromErrno(rc, "rados_create2 for '" + options.entity_name + "'");
  if (!options.conf_path.empty()) {
    rc = rados_conf_read_file(pending.get(), options.conf_path.c_str());
    if (rc < 0) return Status::FromErrno(rc, "reading config file '" + options.conf_path + "'");
  }
  for (const auto& [key, value] : options.config) {
    rc = rados_conf_set(pending.get(), key.c_str(), value.c_str());
    if (rc < 0) return Status::FromErrno(rc, "config option '" + key + "'");
  }
  rc = rados_connect(pending.get());
  if (rc < 0) return Status::FromErrno(rc, "connecting as '" + options.entity_name + "'");
  return std::unique_ptr<RadosCluster>(new RadosCluster(pending.release()));
}

RadosCluster::~RadosCluster() { rados_shutdown(cluster_); }

Result<std::string> RadosCluster::Fsid() const {
  std::array<char, 64> buf{};
  const int rc = rados_cluster_fsid(cluster_, buf.data(), buf.size());
  if (rc < 0) return Status::FromErrno(rc, "rados_cluster_fsid");
  return std::string(buf.data());
}

Result<std::string> RadosCluster::Addresses() const {
  char* addrs = nullptr;
  const int rc = rados_getaddrs(cluster_, &addrs);
  if (rc < 0) return Status::FromErrno(rc, "rados_getaddrs");
  std::string result(addrs);
  free(addrs);  // allocated by librados with strdup
  return result;
}

uint64_t RadosCluster::InstanceId() const { return rados_get_instance_id(cluster_); }

Result<std::string> RadosCluster::ConfigValue(const std::string& option) const {
  // A peer client's "key" is the peer's cephx secret: it never leaves native code.
  if (option == "key") return Status::Error(EPERM, "config option 'key' is a secret and is not readable");
  std::array<char, 4096> buf{};
  const int rc = rados_conf_get(cluster_, option.c_str(), buf.data(), buf.size());
  if (rc < 0) return Status::FromErrno(rc, "reading config option '" + option + "'");
  return std::string(buf.data());
}

Status RadosCluster::BlocklistAdd(const std::string& address, double expire_seconds) const {
  for (char c : address) {
    // An address is "[v2:]ip:port/nonce": nothing to escape in the JSON below.
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("not a client address: '" + address + "'");
    }
  }
  const std::string command = R"({"prefix": "osd blocklist", "blocklistop": "add", "addr": ")" + address +
                              R"(", "expire": )" + std::to_string(expire_seconds) + "}";
  const char* commands[] = {command.c_str()};
  char* out = nullptr;
  char* status = nullptr;
  size_t out_len = 0;
  size_t status_len = 0;
  const int rc = rados_mon_command(cluster_, commands, 1, nullptr, 0, &out, &out_len, &status, &status_len);
  const std::string message = status != nullptr ? std::string(status, status_len) : std::string();
  rados_buffer_free(out);
  rados_buffer_free(status);
  if (rc < 0) return Status::FromErrno(rc, "blocklisting client " + address + (message.empty() ? "" : ": " + message));
  return Status::Ok();
}

}  // namespace mirror_snapshot
