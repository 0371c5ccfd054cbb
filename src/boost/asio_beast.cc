// Compiles Asio and Beast once for the whole project (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION are set for every target that links strongroom_boost).
// Without this every translation unit that uses them recompiles their implementation.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
