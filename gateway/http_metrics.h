// The requests kam-board answers, by route and status (base/metrics.h):
//   kam_http_requests_total{route,code}        every request; one no route took (a 404, a
//                                              refused origin, a malformed request) counts
//                                              under route "other"
//   kam_http_request_duration_seconds{route}   a route's handler, from call to return (a
//                                              live feed's stream is not included)
//
//   kam::gateway::CountRequests(http);                             // once, before serving
//   http.Get(pattern, kam::gateway::Measured("GET /api/status", handler));
//
// httplib calls its logger on the thread that ran the handler, once the response is
// written: the handler's wrapper leaves its route there for the logger.
#pragma once

#include <httplib.h>

#include <string>

namespace kam::gateway {

httplib::Server::Handler Measured(std::string route, httplib::Server::Handler handler);

// Sets `http`'s logger.
void CountRequests(httplib::Server& http);

}  // namespace kam::gateway
