# Every dependency comes from Debian through pkg-config (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET libcrypto)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
# Inbound e-mail parsing (SendGrid Inbound Parse).
pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
# gzip copies of the dashboard's files (src/http/static.c).
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
# libwslay ships no .pc file in Debian 12.
find_path(WSLAY_INCLUDE_DIR wslay/wslay.h REQUIRED)
find_library(WSLAY_LIBRARY wslay REQUIRED)
add_library(wslay::wslay UNKNOWN IMPORTED)
set_target_properties(wslay::wslay PROPERTIES IMPORTED_LOCATION ${WSLAY_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${WSLAY_INCLUDE_DIR})
