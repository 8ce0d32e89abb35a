// A raw IPv4 socket for one IP protocol (GRE = 47 carries GRE and ERSPAN).
//
// Sending: the kernel builds the IPv4 header (no IP_HDRINCL); the caller passes the GRE
// header and the frame as separate buffers, gathered by sendmsg(), never concatenated.
// Receiving: Linux hands raw sockets the whole IPv4 packet, header included. A libuv poll
// handle on the JS thread drains the socket when readable into one JS-owned data Buffer
// and a Float64Array of rows [offset, len, srcAddr, tsSec, tsNsec], then calls JS once.
#pragma once
#include <napi.h>
#include <uv.h>

#include <cstdint>

namespace podspan {

class RawIpSocket : public Napi::ObjectWrap<RawIpSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RawIpSocket(const Napi::CallbackInfo& info);
  ~RawIpSocket() override;

  static constexpr size_t kMetaCols = 5;

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value StartReceive(const Napi::CallbackInfo& info);
  Napi::Value StopReceive(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetProtocol(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetDrops(const Napi::CallbackInfo& info);

  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain();
  void StopPoll();

  napi_env env_ = nullptr;
  int fd_ = -1;
  int protocol_ = 0;
  uv_poll_t* poll_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t dataCap_ = 0;
  double* meta_ = nullptr;
  size_t rowCap_ = 0;
  Napi::Reference<Napi::Value> dataRef_;
  Napi::Reference<Napi::Value> metaRef_;
  Napi::FunctionReference callback_;
};

}  // namespace podspan
