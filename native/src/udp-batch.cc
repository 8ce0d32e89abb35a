#include "udp-batch.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include "capture-error.h"
#include "netns.h"

namespace podspan {

namespace {

// Datagrams per sendmmsg call: the kernel's cap (UIO_MAXIOV).
constexpr size_t kSendVlen = 1024;
// Datagrams per recvmmsg call.
constexpr unsigned kRecvVlen = 64;
constexpr size_t kDefaultMaxDatagram = 65535;
constexpr int kIdlePollMs = 1000;
constexpr int kErrorBackoffMs = 10;
constexpr int64_t kBackoffMinNs = 16'000;
constexpr int64_t kBackoffMaxNs = 1'000'000;
// Room for SCM_TIMESTAMPNS (struct timespec) and SO_RXQ_OVFL (uint32) control messages.
constexpr size_t kCtrlBytes = 128;

int64_t MonoNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void SleepNs(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

Napi::Error ErrnoError(Napi::Env env, const char* code, const std::string& what, int err) {
  Napi::Error e = MakeError(env, code, what + (err != 0 ? std::string(": ") + std::strerror(err) : ""));
  if (err != 0) e.Set("errno", Napi::Number::New(env, err));
  return e;
}

int OptInt(const Napi::Object& o, const char* key, int def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsNumber()) throw MakeError(o.Env(), kErrArg, std::string("UdpBatchSocket: option ") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != std::floor(d)) {
    throw MakeError(o.Env(), kErrArg, std::string("UdpBatchSocket: option ") + key + " must be an integer");
  }
  return static_cast<int>(d);
}

std::string OptString(const Napi::Object& o, const char* key, const std::string& def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsString()) throw MakeError(o.Env(), kErrArg, std::string("UdpBatchSocket: option ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// Parses `text` as an address of `family` (AF_INET or AF_INET6; an IPv4 address given to an
// IPv6 socket becomes v4-mapped). Returns false when it is not one.
bool ParseAddr(const std::string& text, int family, int port, struct sockaddr_storage& out, socklen_t& len) {
  std::memset(&out, 0, sizeof out);
  if (family == AF_INET) {
    auto* a = reinterpret_cast<struct sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, text.c_str(), &a->sin_addr) != 1) return false;
    len = sizeof *a;
    return true;
  }
  auto* a = reinterpret_cast<struct sockaddr_in6*>(&out);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET6, text.c_str(), &a->sin6_addr) != 1) {
    struct in_addr v4;
    if (inet_pton(AF_INET, text.c_str(), &v4) != 1) return false;
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
  }
  len = sizeof *a;
  return true;
}

struct OpenParams {
  int family;
  struct sockaddr_storage bind;
  socklen_t bindLen;
  bool connect;
  struct sockaddr_storage remote;
  socklen_t remoteLen;
  int rcvBuf;
  int sndBuf;
};

struct OpenResult {
  int fd = -1;
  const char* code = nullptr;
  std::string what;
  int err = 0;
};

// Sets a buffer size: the FORCE variant first (root may exceed net.core.[rw]mem_max),
// then the plain one, capped by the sysctl.
void SetBuf(int fd, int forceOpt, int opt, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, forceOpt, &bytes, sizeof bytes) == 0) return;
  (void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

// Everything that touches the network; runs inside the target network namespace.
void OpenSocket(const OpenParams& p, OpenResult& r) {
  auto fail = [&r](const char* code, const std::string& what, int err) {
    if (r.fd >= 0) close(r.fd);
    r.fd = -1;
    r.code = code;
    r.what = what;
    r.err = err;
  };
  r.fd = socket(p.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (r.fd < 0) return fail(kErrUdpSocket, "socket(SOCK_DGRAM)", errno);
  SetBuf(r.fd, SO_RCVBUFFORCE, SO_RCVBUF, p.rcvBuf);
  SetBuf(r.fd, SO_SNDBUFFORCE, SO_SNDBUF, p.sndBuf);
  int one = 1;
  if (setsockopt(r.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
    return fail(kErrUdpSocket, "setsockopt(SO_TIMESTAMPNS)", errno);
  }
  if (setsockopt(r.fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) {
    return fail(kErrUdpSocket, "setsockopt(SO_RXQ_OVFL)", errno);
  }
  if (bind(r.fd, reinterpret_cast<const struct sockaddr*>(&p.bind), p.bindLen) != 0) {
    return fail(kErrUdpBind, "bind", errno);
  }
  if (p.connect && connect(r.fd, reinterpret_cast<const struct sockaddr*>(&p.remote), p.remoteLen) != 0) {
    return fail(kErrUdpSocket, "connect", errno);
  }
}

}  // namespace

Napi::Function UdpBatchSocket::Init(Napi::Env env) {
  return DefineClass(env, "UdpBatchSocket",
                     {
                         InstanceMethod<&UdpBatchSocket::SendBatch>("sendBatch"),
                         InstanceMethod<&UdpBatchSocket::Start>("start"),
                         InstanceMethod<&UdpBatchSocket::Release>("release"),
                         InstanceMethod<&UdpBatchSocket::Stats>("stats"),
                         InstanceMethod<&UdpBatchSocket::Close>("close"),
                         InstanceMethod<&UdpBatchSocket::SetRef>("setRef"),
                         InstanceAccessor<&UdpBatchSocket::GetLocalAddress>("localAddress"),
                         InstanceAccessor<&UdpBatchSocket::GetLocalPort>("localPort"),
                         InstanceAccessor<&UdpBatchSocket::GetFamily>("family"),
                         InstanceAccessor<&UdpBatchSocket::GetRcvBufBytes>("rcvBufBytes"),
                         InstanceAccessor<&UdpBatchSocket::GetSndBufBytes>("sndBufBytes"),
                     });
}

// new UdpBatchSocket({ bindAddress, bindPort?, remoteAddress?, remotePort?, rcvBufBytes?,
//                      sndBufBytes?, maxDatagram?, netns? })
UdpBatchSocket::UdpBatchSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpBatchSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw MakeError(env, kErrArg, "UdpBatchSocket: options object required");
  Napi::Object opts = info[0].As<Napi::Object>();
  std::string bindAddress = OptString(opts, "bindAddress", "0.0.0.0");
  int bindPort = OptInt(opts, "bindPort", 0);
  std::string remoteAddress = OptString(opts, "remoteAddress", "");
  int remotePort = OptInt(opts, "remotePort", 0);
  int maxDatagram = OptInt(opts, "maxDatagram", static_cast<int>(kDefaultMaxDatagram));
  std::string netns = OptString(opts, "netns", "");
  OpenParams p;
  p.rcvBuf = OptInt(opts, "rcvBufBytes", 0);
  p.sndBuf = OptInt(opts, "sndBufBytes", 0);
  if (bindPort < 0 || bindPort > 65535) throw MakeError(env, kErrArg, "UdpBatchSocket: bindPort must be 0..65535");
  if (maxDatagram < 1 || maxDatagram > 65535) throw MakeError(env, kErrArg, "UdpBatchSocket: maxDatagram must be 1..65535");
  if (p.rcvBuf < 0 || p.sndBuf < 0) throw MakeError(env, kErrArg, "UdpBatchSocket: buffer sizes must not be negative");
  struct in6_addr probe;
  p.family = inet_pton(AF_INET6, bindAddress.c_str(), &probe) == 1 ? AF_INET6 : AF_INET;
  if (!ParseAddr(bindAddress, p.family, bindPort, p.bind, p.bindLen)) {
    throw MakeError(env, kErrArg, "UdpBatchSocket: bindAddress \"" + bindAddress + "\" is not an IP address");
  }
  p.connect = !remoteAddress.empty();
  if (p.connect) {
    if (remotePort < 1 || remotePort > 65535) throw MakeError(env, kErrArg, "UdpBatchSocket: remotePort must be 1..65535");
    if (!ParseAddr(remoteAddress, p.family, remotePort, p.remote, p.remoteLen)) {
      throw MakeError(env, kErrArg,
                      "UdpBatchSocket: remoteAddress \"" + remoteAddress + "\" is not an IPv" +
                          (p.family == AF_INET ? "4" : "4 or IPv6") + " address");
    }
  }

  OpenResult r;
  std::string nsErr = RunInNetns(netns, [&]() { OpenSocket(p, r); });
  if (!nsErr.empty()) throw MakeError(env, kErrNetns, nsErr);
  if (r.fd < 0) throw ErrnoError(env, r.code, r.what, r.err);

  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) {
    int e = errno;
    close(r.fd);
    throw ErrnoError(env, kErrUdpSocket, "eventfd", e);
  }
  fd_ = r.fd;
  family_ = p.family;
  connected_ = p.connect;
  maxDatagram_ = static_cast<size_t>(maxDatagram);
  socklen_t sl = sizeof rcvBuf_;
  (void)getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvBuf_, &sl);
  sl = sizeof sndBuf_;
  (void)getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndBuf_, &sl);
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  if (getsockname(fd_, reinterpret_cast<struct sockaddr*>(&local), &ll) == 0) {
    char text[INET6_ADDRSTRLEN] = {0};
    if (local.ss_family == AF_INET) {
      auto* a = reinterpret_cast<struct sockaddr_in*>(&local);
      inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      localPort_ = ntohs(a->sin_port);
    } else {
      auto* a = reinterpret_cast<struct sockaddr_in6*>(&local);
      inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      localPort_ = ntohs(a->sin6_port);
    }
    localAddress_ = text;
  }
  sendMsgs_.resize(kSendVlen);
  sendIov_.resize(kSendVlen * 2);
}

UdpBatchSocket::~UdpBatchSocket() {
  // Normally the thread is long gone: a receiving socket holds a strong reference to this
  // object until its thread-safe function is finalized.
  closing_ = true;
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
  CloseFd();
  if (wakeFd_ >= 0) close(wakeFd_);
}

void UdpBatchSocket::CloseFd() {
  if (fd_ < 0) return;
  finalDrops_ = KernelDrops();
  close(fd_);
  fd_ = -1;
}

uint64_t UdpBatchSocket::KernelDrops() {
  if (fd_ < 0) return finalDrops_;
  uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  uint64_t ovfl = rxqOvfl_.load(std::memory_order_relaxed);
  if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 && len >= sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1)) {
    uint64_t d = mem[SK_MEMINFO_DROPS];
    return d > ovfl ? d : ovfl;
  }
  return ovfl;
}

// sendBatch(header, data, meta, first, count, cols, offCol, lenCol, maxLen, maxWaitMs)
//   -> { sent, bytes, truncated, tooBig, refused, waits, syscalls, next, busy, errno, error }
// Row i of `meta` (cols values per row) names the frame data[meta[offCol], +meta[lenCol]);
// the frame part is cut to maxLen bytes when maxLen >= 0 (counted as truncated). Every row
// is checked before anything is sent; a bad row throws NATIVE_ARG.
Napi::Value UdpBatchSocket::SendBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closing_ || fd_ < 0) throw MakeError(env, kErrState, "UdpBatchSocket.sendBatch(): closed");
  if (!connected_) throw MakeError(env, kErrState, "UdpBatchSocket.sendBatch(): no destination (open with remoteAddress)");
  if (info.Length() < 10 || !info[0].IsBuffer() || !info[1].IsBuffer() || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw MakeError(env, kErrArg, "sendBatch(header: Buffer, data: Buffer, meta: Float64Array, first, count, cols, offCol, lenCol, maxLen, maxWaitMs)");
  }
  for (int i = 3; i < 10; i++) {
    if (!info[i].IsNumber()) throw MakeError(env, kErrArg, "sendBatch: numeric arguments expected");
  }
  auto header = info[0].As<Napi::Buffer<uint8_t>>();
  auto data = info[1].As<Napi::Buffer<uint8_t>>();
  auto meta = info[2].As<Napi::Float64Array>();
  double firstD = info[3].As<Napi::Number>().DoubleValue();
  double countD = info[4].As<Napi::Number>().DoubleValue();
  double colsD = info[5].As<Napi::Number>().DoubleValue();
  double offColD = info[6].As<Napi::Number>().DoubleValue();
  double lenColD = info[7].As<Napi::Number>().DoubleValue();
  double maxLenD = info[8].As<Napi::Number>().DoubleValue();
  double maxWaitD = info[9].As<Napi::Number>().DoubleValue();
  auto isIndex = [](double d) { return d >= 0 && d <= 1e15 && d == std::floor(d); };
  if (!isIndex(firstD) || !isIndex(countD) || !isIndex(colsD) || colsD < 1 || !isIndex(offColD) ||
      !isIndex(lenColD) || offColD >= colsD || lenColD >= colsD || std::isnan(maxLenD) || !(maxWaitD >= 0)) {
    throw MakeError(env, kErrArg, "sendBatch: first, count, cols, offCol, lenCol must be whole numbers (columns < cols), maxWaitMs >= 0");
  }
  size_t first = static_cast<size_t>(firstD);
  size_t count = static_cast<size_t>(countD);
  size_t cols = static_cast<size_t>(colsD);
  size_t offCol = static_cast<size_t>(offColD);
  size_t lenCol = static_cast<size_t>(lenColD);
  size_t rows = meta.ElementLength() / cols;
  if (first > rows || count > rows - first) {
    throw MakeError(env, kErrArg, "sendBatch: rows " + std::to_string(first) + "+" + std::to_string(count) +
                                      " outside meta (" + std::to_string(rows) + " rows)");
  }
  const double* m = meta.Data();
  const size_t dataLen = data.Length();
  for (size_t i = first; i < first + count; i++) {
    double off = m[i * cols + offCol];
    double len = m[i * cols + lenCol];
    if (!(off >= 0 && len >= 0 && off == std::floor(off) && len == std::floor(len) && off + len <= static_cast<double>(dataLen))) {
      throw MakeError(env, kErrArg, "sendBatch: row " + std::to_string(i) + " [" + std::to_string(off) + ", " +
                                        std::to_string(len) + "] outside data (" + std::to_string(dataLen) + " bytes)");
    }
  }
  size_t maxLen = maxLenD < 0 ? SIZE_MAX : (maxLenD > 1e15 ? SIZE_MAX : static_cast<size_t>(maxLenD));
  int64_t budgetNs = static_cast<int64_t>(std::fmin(maxWaitD, 60'000.0) * 1e6);

  uint8_t* hdr = header.Data();
  size_t hdrLen = header.Length();
  uint8_t* base = data.Data();
  uint64_t sent = 0, bytes = 0, truncated = 0, tooBig = 0, refused = 0, waits = 0, syscalls = 0;
  int hardErr = 0;
  bool busy = false;
  int64_t waitStart = -1;
  int64_t backoff = kBackoffMinNs;
  size_t refusedAt = SIZE_MAX;
  size_t end = first + count;
  size_t i = first;
  while (i < end) {
    size_t n = end - i < kSendVlen ? end - i : kSendVlen;
    for (size_t k = 0; k < n; k++) {
      const double* row = m + (i + k) * cols;
      size_t off = static_cast<size_t>(row[offCol]);
      size_t len = static_cast<size_t>(row[lenCol]);
      if (len > maxLen) len = maxLen;
      struct iovec* v = &sendIov_[k * 2];
      v[0].iov_base = hdr;
      v[0].iov_len = hdrLen;
      v[1].iov_base = base + off;
      v[1].iov_len = len;
      struct msghdr& h = sendMsgs_[k].msg_hdr;
      h.msg_name = nullptr;
      h.msg_namelen = 0;
      h.msg_iov = v;
      h.msg_iovlen = 2;
      h.msg_control = nullptr;
      h.msg_controllen = 0;
      h.msg_flags = 0;
    }
    int r = sendmmsg(fd_, sendMsgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    syscalls++;
    if (r > 0) {
      for (int k = 0; k < r; k++) {
        const double* row = m + (i + k) * cols;
        if (static_cast<size_t>(row[lenCol]) > maxLen) truncated++;
        bytes += sendIov_[k * 2 + 1].iov_len;
      }
      sent += static_cast<uint64_t>(r);
      i += static_cast<size_t>(r);
      waitStart = -1;
      backoff = kBackoffMinNs;
      continue;
    }
    int e = r == 0 ? EAGAIN : errno;
    if (e == EINTR) continue;
    if (e == EMSGSIZE) {
      tooBig++;
      i++;
      continue;
    }
    if (e == ECONNREFUSED) {
      // An ICMP port unreachable for an earlier datagram, reported (and cleared) on this
      // send, which therefore did not happen: retry it once.
      refused++;
      if (refusedAt == i) {
        hardErr = e;
        break;
      }
      refusedAt = i;
      continue;
    }
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
      int64_t now = MonoNs();
      if (waitStart < 0) waitStart = now;
      int64_t left = budgetNs - (now - waitStart);
      if (left <= 0) {
        busy = true;
        hardErr = e;
        break;
      }
      waits++;
      if (e == ENOBUFS) {
        // Device queue full: nothing to poll for; back off.
        SleepNs(backoff < left ? backoff : left);
        backoff = backoff * 2 > kBackoffMaxNs ? kBackoffMaxNs : backoff * 2;
      } else {
        struct pollfd pf = {fd_, POLLOUT, 0};
        int ms = static_cast<int>((left + 999'999) / 1'000'000);
        poll(&pf, 1, ms);
      }
      continue;
    }
    hardErr = e;
    break;
  }
  sentTotal_ += sent;
  if (busy) sendBusy_ += end - i;

  Napi::Object o = Napi::Object::New(env);
  o.Set("sent", Napi::Number::New(env, static_cast<double>(sent)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
  o.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated)));
  o.Set("tooBig", Napi::Number::New(env, static_cast<double>(tooBig)));
  o.Set("refused", Napi::Number::New(env, static_cast<double>(refused)));
  o.Set("waits", Napi::Number::New(env, static_cast<double>(waits)));
  o.Set("syscalls", Napi::Number::New(env, static_cast<double>(syscalls)));
  o.Set("next", Napi::Number::New(env, static_cast<double>(i)));
  o.Set("busy", Napi::Boolean::New(env, busy));
  o.Set("errno", Napi::Number::New(env, hardErr));
  o.Set("error", Napi::String::New(env, hardErr != 0 ? std::strerror(hardErr) : ""));
  return o;
}

// start(dataA, metaA, addrA, dataB, metaB, addrB, callback)
// callback(kind, slot, count, error): kind 1 = batch in `slot` with `count` rows, kind 2 =
// fatal receive error (the thread has stopped). Returning true from a batch call releases
// the slot; otherwise JS calls release(slot) later.
Napi::Value UdpBatchSocket::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (started_ || closed_ || closing_ || fd_ < 0) throw MakeError(env, kErrState, "UdpBatchSocket: already receiving or closed");
  if (info.Length() < 7 || !info[6].IsFunction()) {
    throw MakeError(env, kErrArg, "start(dataA, metaA, addrA, dataB, metaB, addrB, callback)");
  }
  for (int i = 0; i < 2; i++) {
    Napi::Value data = info[i * 3];
    Napi::Value meta = info[i * 3 + 1];
    Napi::Value addr = info[i * 3 + 2];
    if (!data.IsBuffer() || !addr.IsBuffer()) throw MakeError(env, kErrArg, "data and addr must be Buffers");
    if (!meta.IsTypedArray() || meta.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw MakeError(env, kErrArg, "meta must be a Float64Array");
    }
    auto buf = data.As<Napi::Buffer<uint8_t>>();
    auto rows = meta.As<Napi::Float64Array>();
    auto a = addr.As<Napi::Buffer<uint8_t>>();
    Slot& s = slots_[i];
    s.data = buf.Data();
    s.dataCap = buf.Length();
    s.meta = rows.Data();
    s.rowCap = rows.ElementLength() / kMetaCols;
    s.addr = a.Data();
    if (s.dataCap < maxDatagram_) {
      throw MakeError(env, kErrArg, "data buffer (" + std::to_string(s.dataCap) + " bytes) is smaller than maxDatagram (" +
                                        std::to_string(maxDatagram_) + ")");
    }
    if (s.rowCap == 0) throw MakeError(env, kErrArg, "meta must hold at least one row");
    if (a.Length() < s.rowCap * kAddrBytes) throw MakeError(env, kErrArg, "addr must hold 16 bytes per meta row");
  }
  for (int i = 0; i < 2; i++) {
    slots_[i].dataRef = Napi::Persistent(info[i * 3]);
    slots_[i].metaRef = Napi::Persistent(info[i * 3 + 1]);
    slots_[i].addrRef = Napi::Persistent(info[i * 3 + 2]);
    slots_[i].count = 0;
    slots_[i].dataOff = 0;
    slots_[i].state = SlotState::kFree;
  }
  cur_ = 0;
  slots_[0].state = SlotState::kFilling;
  scratch_.resize(static_cast<size_t>(kRecvVlen) * maxDatagram_);

  tsfn_ = Tsfn::New(env, info[6].As<Napi::Function>(), "podspan.UdpBatchSocket", 0, 1, this, OnTsfnFinalize,
                    static_cast<void*>(nullptr));
  Ref();  // kept alive until the thread-safe function is finalized
  started_ = true;
  thread_ = std::thread([this]() { Run(); });
  return env.Undefined();
}

bool UdpBatchSocket::SlotFull(const Slot& s) const {
  return s.count >= s.rowCap || s.dataCap - s.dataOff < maxDatagram_;
}

bool UdpBatchSocket::HandOver(bool force) {
  Slot& c = slots_[cur_];
  Slot& o = slots_[1 - cur_];
  if (c.count == 0 || tsfnDead_) return false;
  if (o.state != SlotState::kFree && !force) return false;
  auto* ev = new UdpEvent{UdpEvent::kBatch, cur_, c.count, std::string(), 0};
  c.state = SlotState::kJs;
  if (tsfn_.NonBlockingCall(ev) != napi_ok) {
    delete ev;  // closing: nobody will read it
    c.state = SlotState::kFilling;
    return false;
  }
  delivered_.fetch_add(c.count, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  if (o.state == SlotState::kFree) {
    cur_ = 1 - cur_;
    o.state = SlotState::kFilling;
    o.count = 0;
    o.dataOff = 0;
  }
  return true;
}

void UdpBatchSocket::Run() {
  struct pollfd fds[2];
  fds[0].fd = fd_;
  fds[0].events = POLLIN;
  fds[1].fd = wakeFd_;
  fds[1].events = POLLIN;
  struct mmsghdr msgs[kRecvVlen];
  struct iovec iov[kRecvVlen];
  struct sockaddr_storage names[kRecvVlen];
  alignas(struct cmsghdr) uint8_t ctrl[kRecvVlen][kCtrlBytes];
  bool more = false;
  int fatalErr = 0;
  std::string fatal;
  uint64_t drain;

  while (!closing_.load()) {
    bool full = SlotFull(slots_[cur_]);
    if (!more || full) {
      // The socket is drained (or the slot is full): hand the batch over. While datagrams
      // keep coming, keep filling, so a batch under load is what arrived meanwhile.
      std::lock_guard<std::mutex> lk(mu_);
      HandOver(false);
      full = SlotFull(slots_[cur_]);
    }
    if (full) {
      // JS holds the other slot. Stop reading: datagrams wait in the socket buffer.
      fds[1].revents = 0;
      poll(&fds[1], 1, kIdlePollMs);
      if (fds[1].revents & POLLIN) (void)!read(wakeFd_, &drain, sizeof drain);
      continue;
    }
    if (!more) {
      fds[0].revents = 0;
      fds[1].revents = 0;
      int pr = poll(fds, 2, kIdlePollMs);
      if (pr < 0 && errno != EINTR) {
        fatalErr = errno;
        fatal = std::string("poll: ") + std::strerror(errno);
        break;
      }
      if (fds[1].revents & POLLIN) (void)!read(wakeFd_, &drain, sizeof drain);
      if (closing_.load()) break;
      if ((fds[0].revents & (POLLIN | POLLERR)) == 0) continue;
    }

    Slot& s = slots_[cur_];
    size_t byRows = s.rowCap - s.count;
    size_t byData = (s.dataCap - s.dataOff) / maxDatagram_;
    size_t room = byRows < byData ? byRows : byData;
    unsigned vlen = room < kRecvVlen ? static_cast<unsigned>(room) : kRecvVlen;
    for (unsigned k = 0; k < vlen; k++) {
      iov[k].iov_base = scratch_.data() + k * maxDatagram_;
      iov[k].iov_len = maxDatagram_;
      struct msghdr& h = msgs[k].msg_hdr;
      h.msg_name = &names[k];
      h.msg_namelen = sizeof names[k];
      h.msg_iov = &iov[k];
      h.msg_iovlen = 1;
      h.msg_control = ctrl[k];
      h.msg_controllen = kCtrlBytes;
      h.msg_flags = 0;
      msgs[k].msg_len = 0;
    }
    int n = recvmmsg(fd_, msgs, vlen, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      int e = errno;
      more = false;
      if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) continue;
      // ICMP errors queued on the socket (a connected socket's peer went away): reported
      // once and cleared; reading goes on.
      if (e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN) continue;
      if (e == ENOMEM || e == ENOBUFS) {
        fds[1].revents = 0;
        poll(&fds[1], 1, kErrorBackoffMs);
        continue;
      }
      fatalErr = e;
      fatal = std::string("recvmmsg: ") + std::strerror(e);
      break;
    }
    for (int k = 0; k < n; k++) {
      const struct msghdr& h = msgs[k].msg_hdr;
      size_t len = msgs[k].msg_len;
      if (len > maxDatagram_) len = maxDatagram_;
      if (h.msg_flags & MSG_TRUNC) truncated_.fetch_add(1, std::memory_order_relaxed);
      std::memcpy(s.data + s.dataOff, iov[k].iov_base, len);
      double* row = s.meta + s.count * kMetaCols;
      row[0] = static_cast<double>(s.dataOff);
      row[1] = static_cast<double>(len);
      const auto* sa = reinterpret_cast<const struct sockaddr*>(&names[k]);
      if (sa->sa_family == AF_INET) {
        const auto* a = reinterpret_cast<const struct sockaddr_in*>(sa);
        row[2] = 4;
        row[3] = static_cast<double>(ntohl(a->sin_addr.s_addr));
        row[4] = ntohs(a->sin_port);
      } else if (sa->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<const struct sockaddr_in6*>(sa);
        row[2] = 6;
        row[3] = 0;
        row[4] = ntohs(a->sin6_port);
        std::memcpy(s.addr + s.count * kAddrBytes, &a->sin6_addr, kAddrBytes);
      } else {
        row[2] = 0;
        row[3] = 0;
        row[4] = 0;
      }
      bool haveTs = false;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(const_cast<struct msghdr*>(&h), c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
          struct timespec ts;
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          row[5] = static_cast<double>(ts.tv_sec);
          row[6] = static_cast<double>(ts.tv_nsec);
          haveTs = true;
        } else if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
          uint32_t d;
          std::memcpy(&d, CMSG_DATA(c), sizeof d);
          rxqOvfl_.store(d, std::memory_order_relaxed);
        }
      }
      if (!haveTs) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        row[5] = static_cast<double>(ts.tv_sec);
        row[6] = static_cast<double>(ts.tv_nsec);
      }
      s.dataOff += len;
      s.count++;
    }
    if (n > 0) received_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    more = n == static_cast<int>(vlen);
  }

  std::lock_guard<std::mutex> lk(mu_);
  if (fatalErr != 0 && !tsfnDead_ && !closing_.load()) {
    // Nothing will be written any more: the last datagrams go to JS, then the error.
    HandOver(true);
    auto* ev = new UdpEvent{UdpEvent::kError, -1, 0, fatal, fatalErr};
    if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
  }
  if (!tsfnDead_) tsfn_.Release();
}

void UdpBatchSocket::Wake() {
  uint64_t one = 1;
  (void)!write(wakeFd_, &one, sizeof one);
}

void UdpBatchSocket::ReleaseSlot(int slot) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    Slot& s = slots_[slot];
    if (s.state != SlotState::kJs) return;
    s.state = SlotState::kFree;
    s.count = 0;
    s.dataOff = 0;
  }
  Wake();
}

Napi::Value UdpBatchSocket::Release(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw MakeError(info.Env(), kErrArg, "release(slot)");
  int slot = info[0].As<Napi::Number>().Int32Value();
  if (slot != 0 && slot != 1) throw MakeError(info.Env(), kErrArg, "slot must be 0 or 1");
  ReleaseSlot(slot);
  return info.Env().Undefined();
}

void UdpCallJs(Napi::Env env, Napi::Function callback, UdpBatchSocket* self, UdpEvent* ev) {
  std::unique_ptr<UdpEvent> owned(ev);
  if (env == nullptr || self == nullptr || ev == nullptr) return;
  if (self->closing_.load()) return;  // no callbacks once close() has been called
  try {
    if (ev->kind == UdpEvent::kBatch) {
      Napi::Value r = callback.Call({Napi::Number::New(env, UdpEvent::kBatch), Napi::Number::New(env, ev->slot),
                                     Napi::Number::New(env, static_cast<double>(ev->count))});
      if (r.IsBoolean() && r.As<Napi::Boolean>().Value()) self->ReleaseSlot(ev->slot);
    } else {
      Napi::Error e = ErrnoError(env, kErrUdpRecv, ev->message, 0);
      e.Set("errno", Napi::Number::New(env, ev->err));
      callback.Call({Napi::Number::New(env, UdpEvent::kError), Napi::Number::New(env, -1), Napi::Number::New(env, 0), e.Value()});
    }
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void UdpBatchSocket::OnTsfnFinalize(Napi::Env env, void* /*data*/, UdpBatchSocket* self) {
  {
    std::lock_guard<std::mutex> lk(self->mu_);
    self->tsfnDead_ = true;
  }
  self->closing_ = true;
  self->Wake();
  if (self->thread_.joinable()) self->thread_.join();
  self->CloseFd();
  self->closed_ = true;
  for (auto& s : self->slots_) {
    s.dataRef.Reset();
    s.metaRef.Reset();
    s.addrRef.Reset();
  }
  std::vector<Napi::Promise::Deferred> waiters;
  waiters.swap(self->closeWaiters_);
  for (auto& d : waiters) d.Resolve(env.Undefined());
  self->Unref();
}

Napi::Value UdpBatchSocket::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("received", Napi::Number::New(env, static_cast<double>(received_.load())));
  o.Set("delivered", Napi::Number::New(env, static_cast<double>(delivered_.load())));
  o.Set("batches", Napi::Number::New(env, static_cast<double>(batches_.load())));
  o.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_.load())));
  o.Set("kernelDrops", Napi::Number::New(env, static_cast<double>(KernelDrops())));
  o.Set("sent", Napi::Number::New(env, static_cast<double>(sentTotal_)));
  o.Set("sendBusy", Napi::Number::New(env, static_cast<double>(sendBusy_)));
  return o;
}

Napi::Value UdpBatchSocket::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (closed_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  if (!started_) {
    closing_ = true;
    CloseFd();
    closed_ = true;
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  closing_ = true;
  closeWaiters_.push_back(deferred);
  Wake();
  return deferred.Promise();
}

Napi::Value UdpBatchSocket::SetRef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!started_ || closed_) return env.Undefined();
  bool ref = info.Length() > 0 && info[0].ToBoolean().Value();
  if (ref) {
    tsfn_.Ref(env);
  } else {
    tsfn_.Unref(env);
  }
  return env.Undefined();
}

Napi::Value UdpBatchSocket::GetLocalAddress(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), localAddress_);
}

Napi::Value UdpBatchSocket::GetLocalPort(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), localPort_);
}

Napi::Value UdpBatchSocket::GetFamily(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), family_ == AF_INET6 ? 6 : 4);
}

Napi::Value UdpBatchSocket::GetRcvBufBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), rcvBuf_);
}

Napi::Value UdpBatchSocket::GetSndBufBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), sndBuf_);
}

}  // namespace podspan
