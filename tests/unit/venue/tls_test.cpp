// wss:// and https:// against a loopback TLS server with a certificate made on
// the fly: verification succeeds only when the certificate is trusted (ca_file)
// and names the host; otherwise the handshake fails.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "engine/venue/binance/rest_client.hpp"
#include "engine/venue/binance/ws_client.hpp"
#include "tests/unit/venue/venue_test_util.hpp"

using namespace te::venue::binance;
using namespace te::venue::binance::test;

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct Pem {
  std::string cert;
  std::string key;
};

// A self-signed P-256 certificate for `san` (e.g. "IP:127.0.0.1").
Pem make_certificate(const char* san) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(key != nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  const unsigned char cn[] = "te-test-exchange";
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name, san},
                            std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext != nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    const long n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));  // BIO_get_mem_data
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
  };
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  Pem pem{to_string(cb), to_string(kb)};
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

constexpr const char* kClosedKline =
    R"({"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1700000100000,"s":"BTCUSDT","k":{"t":1700000040000,"T":1700000099999,"s":"BTCUSDT","i":"1m","o":"10.5","c":"11","h":"11.5","l":"10","v":"3","n":4,"x":true,"q":"33","V":"1","Q":"11"}}})";

// One-thread TLS server: WebSocket upgrades get one closed kline, plain HTTP
// requests get "[]".
class TlsServer {
 public:
  explicit TlsServer(const Pem& pem) : ctx_(ssl::context::tls_server), acceptor_(io_) {
    ctx_.use_certificate_chain(net::buffer(pem.cert));
    ctx_.use_private_key(net::buffer(pem.key), ssl::context::pem);
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(io_, accept_loop(), net::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsServer() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  net::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket s = co_await acceptor_.async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      net::co_spawn(io_, session(std::move(s)), net::detached);
    }
  }
  net::awaitable<void> session(tcp::socket socket) {
    beast::error_code ec;
    auto token = net::redirect_error(net::use_awaitable, ec);
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), ctx_);
    co_await stream.async_handshake(ssl::stream_base::server, token);
    if (ec) co_return;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, token);
    if (ec) co_return;
    if (!websocket::is_upgrade(req)) {
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = "[]";
      res.prepare_payload();
      co_await http::async_write(stream, res, token);
      co_return;
    }
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(std::move(stream));
    co_await ws.async_accept(req, token);
    if (ec) co_return;
    ws.text(true);
    co_await ws.async_write(net::buffer(std::string(kClosedKline)), token);
    while (!ec) co_await ws.async_read(buffer, token);
  }

  net::io_context io_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

struct CaFile {
  explicit CaFile(const std::string& pem) {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() / ("te_venue_ca_" + std::to_string(rd()) + ".pem")).string();
    std::ofstream(path) << pem;
  }
  ~CaFile() { std::filesystem::remove(path); }
  std::string path;
};

// Runs a WsClient until its first bar or first disconnect; returns the sink.
void run_client(const std::string& url, const std::string& ca_file, RecordingSink& sink) {
  IoThread io;
  WsClientOptions o;
  o.ws_url = url;
  o.symbols = {"BTCUSDT"};
  o.ca_file = ca_file;
  o.reconnect_initial_delay = std::chrono::milliseconds(1000);
  o.reconnect_max_delay = std::chrono::milliseconds(1000);
  WsClient client(io.io(), o, sink);
  REQUIRE(client.start().ok());
  sink.wait_for(
      [&] {
        if (sink.bar_count() > 0) return true;
        for (const auto& e : sink.connections_unlocked()) {
          if (e.state == ConnectionState::Disconnected) return true;
        }
        return false;
      },
      std::chrono::seconds(20));
  client.stop();
  io.finish();
}

std::string first_disconnect(RecordingSink& sink) {
  for (const auto& e : sink.connections()) {
    if (e.state == ConnectionState::Disconnected) return e.detail;
  }
  return "";
}

}  // namespace

TEST_CASE("wss:// verifies the server certificate and host name", "[unit][venue][net]") {
  const Pem good = make_certificate("IP:127.0.0.1");
  const Pem other_host = make_certificate("DNS:stream.example.org");
  CaFile good_ca(good.cert), other_ca(other_host.cert);

  SECTION("trusted and matching: bars flow") {
    TlsServer server(good);
    RecordingSink sink;
    run_client("wss://127.0.0.1:" + std::to_string(server.port()), good_ca.path, sink);
    const auto bars = sink.bars();
    REQUIRE(bars.size() == 1);
    CHECK(bars[0].symbol == "BTCUSDT");
    CHECK(bars[0].bar.close == 11.0);
  }
  SECTION("not trusted: the handshake fails") {
    TlsServer server(good);
    RecordingSink sink;
    run_client("wss://127.0.0.1:" + std::to_string(server.port()), "", sink);
    CHECK(sink.bars().empty());
    CHECK_THAT(first_disconnect(sink), Catch::Contains("tls handshake"));
    CHECK_THAT(first_disconnect(sink), Catch::Contains("certificate verify failed"));
  }
  SECTION("trusted but for another host name: the handshake fails") {
    TlsServer server(other_host);
    RecordingSink sink;
    run_client("wss://127.0.0.1:" + std::to_string(server.port()), other_ca.path, sink);
    CHECK(sink.bars().empty());
    CHECK_THAT(first_disconnect(sink), Catch::Contains("tls handshake"));
  }
}

TEST_CASE("https:// verifies the server certificate", "[unit][venue][net]") {
  const Pem good = make_certificate("IP:127.0.0.1");
  CaFile ca(good.cert);
  TlsServer server(good);
  RestClientOptions o;
  o.base_url = "https://127.0.0.1:" + std::to_string(server.port());
  o.max_attempts = 1;
  o.ca_file = ca.path;
  auto trusted = RestClient::create(o);
  REQUIRE(trusted.ok());
  auto r = trusted->get("/api/v3/klines", "symbol=BTCUSDT&interval=1m");
  REQUIRE(r.ok());
  CHECK(r->body == "[]");

  o.ca_file.clear();
  auto untrusted = RestClient::create(o);
  REQUIRE(untrusted.ok());
  auto bad = untrusted->get("/api/v3/klines", "symbol=BTCUSDT&interval=1m");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == te::Errc::io);
  CHECK_THAT(bad.error().message, Catch::Contains("tls handshake"));
  CHECK_THAT(bad.error().message, Catch::Contains("certificate verify failed"));
}
