// Compiles Asio's TLS support once, for the client and the server (strongroom_boost compiles
// the rest of Asio without OpenSSL). TLS here is transport only; no key material of
// Strongroom's own formats goes through OpenSSL outside strongroom_crypto.
#include <boost/asio/ssl/impl/src.hpp>
