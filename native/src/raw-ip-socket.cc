#include "raw-ip-socket.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "capture-error.h"
#include "netns.h"

namespace podspan {

namespace {

constexpr size_t kMaxIov = 16;
// Largest IPv4 packet; a receive needs this much room or it stops for this round.
constexpr size_t kMaxIpPacket = 65535;

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  const char* code = (err == EPERM || err == EACCES) ? kErrPerm : kErrSocket;
  Napi::Error e = MakeError(env, code, what + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

bool ParseIpv4(Napi::Env env, const Napi::Value& v, struct in_addr* out) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 4294967295.0) return false;
    out->s_addr = htonl(static_cast<uint32_t>(d));
    return true;
  }
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    return inet_pton(AF_INET, s.c_str(), out) == 1;
  }
  return false;
}

}  // namespace

Napi::Function RawIpSocket::Init(Napi::Env env) {
  return DefineClass(env, "RawIpSocket",
                     {
                         InstanceMethod<&RawIpSocket::Send>("send"),
                         InstanceMethod<&RawIpSocket::StartReceive>("startReceive"),
                         InstanceMethod<&RawIpSocket::StopReceive>("stopReceive"),
                         InstanceMethod<&RawIpSocket::Close>("close"),
                         InstanceAccessor<&RawIpSocket::GetProtocol>("protocol"),
                         InstanceAccessor<&RawIpSocket::GetFd>("fd"),
                         InstanceAccessor<&RawIpSocket::GetDrops>("drops"),
                     });
}

// new RawIpSocket(protocol, { netns?, bindAddress?, sendOnly?, recvBufferBytes? })
RawIpSocket::RawIpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawIpSocket>(info) {
  Napi::Env env = info.Env();
  env_ = env;
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw MakeError(env, kErrArg, "RawIpSocket(protocol, options)");
  }
  protocol_ = info[0].As<Napi::Number>().Int32Value();
  if (protocol_ <= 0 || protocol_ >= 255) {
    throw MakeError(env, kErrArg, "protocol must be 1..254");
  }
  std::string netns;
  struct in_addr bindAddr = {};
  bool haveBind = false;
  bool sendOnly = false;
  int recvBufferBytes = 0;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    Napi::Value so = o.Get("sendOnly");
    if (so.IsBoolean()) sendOnly = so.As<Napi::Boolean>().Value();
    Napi::Value rb = o.Get("recvBufferBytes");
    if (rb.IsNumber()) recvBufferBytes = rb.As<Napi::Number>().Int32Value();
    Napi::Value ns = o.Get("netns");
    if (ns.IsString()) netns = ns.As<Napi::String>().Utf8Value();
    Napi::Value b = o.Get("bindAddress");
    if (!b.IsUndefined() && !b.IsNull()) {
      if (!ParseIpv4(env, b, &bindAddr)) {
        throw MakeError(env, kErrArg, "bindAddress must be an IPv4 address");
      }
      haveBind = true;
    }
  }
  int fd = -1;
  int err = 0;
  std::string step;
  std::string nsErr = RunInNetns(netns, [&]() {
    fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol_);
    if (fd < 0) {
      err = errno;
      step = "socket(AF_INET, SOCK_RAW, " + std::to_string(protocol_) + ")";
      return;
    }
    int on = 1;
    // Kernel receive timestamps, nanoseconds (SCM_TIMESTAMPNS).
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (sendOnly) {
      // A raw socket gets a copy of every packet of its protocol the host receives; a
      // sender never reads them, so a filter that accepts nothing keeps them out of its
      // queue (classic BPF "ret #0").
      struct sock_filter drop[] = {{BPF_RET | BPF_K, 0, 0, 0}};
      struct sock_fprog prog = {1, drop};
      setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    }
    if (recvBufferBytes > 0) {
      // SO_RCVBUFFORCE (CAP_NET_ADMIN) passes net.core.rmem_max; SO_RCVBUF otherwise.
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &recvBufferBytes, sizeof recvBufferBytes) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &recvBufferBytes, sizeof recvBufferBytes);
      }
    }
    if (haveBind) {
      struct sockaddr_in sa = {};
      sa.sin_family = AF_INET;
      sa.sin_addr = bindAddr;
      if (bind(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) != 0) {
        err = errno;
        step = "bind";
        close(fd);
        fd = -1;
      }
    }
  });
  if (!nsErr.empty()) throw MakeError(env, kErrNetns, nsErr);
  if (fd < 0) throw ErrnoError(env, step, err);
  fd_ = fd;
}

RawIpSocket::~RawIpSocket() {
  // The poll handle holds no reference to this object once stopped; Close() is the normal
  // path. A leaked open socket is closed here.
  if (poll_ == nullptr && fd_ >= 0) close(fd_);
}

// send(buffers: Buffer[], dst: string | number[, lastOffset, lastLength]) -> true (queued) | false (the socket's
// send buffer is full: EAGAIN / ENOBUFS; the caller counts the drop). Other errors throw.
Napi::Value RawIpSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw MakeError(env, kErrState, "RawIpSocket is closed");
  if (info.Length() < 2 || !info[0].IsArray()) {
    throw MakeError(env, kErrArg, "send(buffers, dstIPv4)");
  }
  Napi::Array bufs = info[0].As<Napi::Array>();
  uint32_t n = bufs.Length();
  if (n == 0 || n > kMaxIov) throw MakeError(env, kErrArg, "send: 1 to 16 buffers");
  struct iovec iov[kMaxIov];
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value b = bufs.Get(i);
    if (!b.IsBuffer()) throw MakeError(env, kErrArg, "send: buffers must be Buffers");
    auto buf = b.As<Napi::Buffer<uint8_t>>();
    iov[i].iov_base = buf.Data();
    iov[i].iov_len = buf.Length();
  }
  // Optional (offset, length) of the last buffer: a frame sent straight from a capture
  // batch without a subarray per packet.
  if (info.Length() >= 4 && info[2].IsNumber() && info[3].IsNumber()) {
    double off = info[2].As<Napi::Number>().DoubleValue();
    double len = info[3].As<Napi::Number>().DoubleValue();
    size_t have = iov[n - 1].iov_len;
    if (off < 0 || len < 0 || off + len > static_cast<double>(have)) {
      throw MakeError(env, kErrArg, "send: offset/length outside the last buffer");
    }
    iov[n - 1].iov_base = static_cast<uint8_t*>(iov[n - 1].iov_base) + static_cast<size_t>(off);
    iov[n - 1].iov_len = static_cast<size_t>(len);
  }
  struct sockaddr_in dst = {};
  dst.sin_family = AF_INET;
  if (!ParseIpv4(env, info[1], &dst.sin_addr)) {
    throw MakeError(env, kErrArg, "send: dst must be an IPv4 address");
  }
  struct msghdr msg = {};
  msg.msg_name = &dst;
  msg.msg_namelen = sizeof dst;
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  ssize_t r;
  do {
    r = sendmsg(fd_, &msg, MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      return Napi::Boolean::New(env, false);
    }
    throw ErrnoError(env, "sendmsg", errno);
  }
  return Napi::Boolean::New(env, true);
}

// startReceive(data: Buffer, meta: Float64Array, callback(count))
Napi::Value RawIpSocket::StartReceive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw MakeError(env, kErrState, "RawIpSocket is closed");
  if (poll_ != nullptr) throw MakeError(env, kErrState, "already receiving");
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      !info[2].IsFunction()) {
    throw MakeError(env, kErrArg, "startReceive(data: Buffer, meta: Float64Array, callback)");
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  auto rows = info[1].As<Napi::Float64Array>();
  if (buf.Length() < kMaxIpPacket) {
    throw MakeError(env, kErrArg, "data buffer must hold at least 65535 bytes");
  }
  if (rows.ElementLength() < kMetaCols) throw MakeError(env, kErrArg, "meta too small");
  data_ = buf.Data();
  dataCap_ = buf.Length();
  meta_ = rows.Data();
  rowCap_ = rows.ElementLength() / kMetaCols;
  dataRef_ = Napi::Persistent(info[0]);
  metaRef_ = Napi::Persistent(info[1]);
  callback_ = Napi::Persistent(info[2].As<Napi::Function>());

  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  poll_->data = this;
  int r = uv_poll_init(loop, poll_, fd_);
  if (r == 0) r = uv_poll_start(poll_, UV_READABLE, OnReadable);
  if (r != 0) {
    delete poll_;
    poll_ = nullptr;
    throw MakeError(env, kErrSocket, std::string("uv_poll: ") + uv_strerror(r));
  }
  Ref();  // alive while the poll handle may call back
  return env.Undefined();
}

void RawIpSocket::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<RawIpSocket*>(handle->data);
  if (self == nullptr) return;
  self->Drain();
}

// Reads until the socket is empty or the buffers are full, then calls JS once. Data and
// rows are valid until the callback returns.
void RawIpSocket::Drain() {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  size_t count = 0;
  size_t off = 0;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(struct timespec))];
  while (count < rowCap_ && dataCap_ - off >= kMaxIpPacket && fd_ >= 0) {
    struct sockaddr_in src = {};
    struct iovec iov = {data_ + off, dataCap_ - off};
    struct msghdr msg = {};
    msg.msg_name = &src;
    msg.msg_namelen = sizeof src;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t r = recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN, or an error the next readable event will show again
    }
    struct timespec ts = {};
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      }
    }
    double* row = meta_ + count * kMetaCols;
    row[0] = static_cast<double>(off);
    row[1] = static_cast<double>(r);
    row[2] = static_cast<double>(ntohl(src.sin_addr.s_addr));
    row[3] = static_cast<double>(ts.tv_sec);
    row[4] = static_cast<double>(ts.tv_nsec);
    off += static_cast<size_t>(r);
    count++;
  }
  if (count == 0 || callback_.IsEmpty()) return;
  try {
    callback_.MakeCallback(Napi::Object::New(env),
                           {Napi::Number::New(env, static_cast<double>(count))});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env_, e.Value());
  }
}

void RawIpSocket::StopPoll() {
  if (poll_ == nullptr) return;
  // After uv_poll_stop the descriptor is no longer watched and may be closed at once;
  // the handle itself is freed when libuv is done with it.
  uv_poll_stop(poll_);
  poll_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  poll_ = nullptr;
  dataRef_.Reset();
  metaRef_.Reset();
  callback_.Reset();
  Unref();
}

Napi::Value RawIpSocket::StopReceive(const Napi::CallbackInfo& info) {
  StopPoll();
  return info.Env().Undefined();
}

Napi::Value RawIpSocket::Close(const Napi::CallbackInfo& info) {
  StopPoll();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  return info.Env().Undefined();
}

Napi::Value RawIpSocket::GetProtocol(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), protocol_);
}

// The descriptor (-1 once closed): for /proc/self/fd (the socket's inode, to find its
// kernel drop count in /proc/net/raw).
Napi::Value RawIpSocket::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), fd_);
}

// Packets the kernel dropped for this socket since it was opened (receive buffer full,
// filter memory): SO_MEMINFO's SK_MEMINFO_DROPS (sk->sk_drops, the "drops" column of
// /proc/net/raw), read from the descriptor so it works whatever namespace the socket is in.
// -1 when closed or not available.
Napi::Value RawIpSocket::GetDrops(const Napi::CallbackInfo& info) {
  if (fd_ < 0) return Napi::Number::New(info.Env(), -1);
  uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 || len <= SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    return Napi::Number::New(info.Env(), -1);
  }
  return Napi::Number::New(info.Env(), mem[SK_MEMINFO_DROPS]);
}

}  // namespace podspan
