package org.infoscreen.fleet.rest;

import org.apache.camel.Exchange;
import org.apache.camel.spi.HeaderFilterStrategy;

import java.util.Locale;
import java.util.Set;

/**
 * Header filter for the HTTP server: only an allow-list of headers leaves in a response, so no
 * request header (Authorization, Cookie) or query parameter is ever echoed back — also not by
 * routes Camel generates itself, such as the OpenAPI document. Incoming headers are filtered as
 * by the component's own strategy, and the headers that carry the authenticated principal
 * ({@code fleetPrincipal}, {@code fleetRole}) are dropped when a client sends them as a header,
 * query parameter or form field: only the authentication sets them.
 */
public class ResponseHeaderAllowList implements HeaderFilterStrategy {

    private static final Set<String> ALLOWED = Set.of("content-type", "retry-after", "location", "cache-control",
            // the dashboard page (routes/dashboard.camel.yaml)
            "content-security-policy", "x-content-type-options", "referrer-policy");
    private static final Set<String> SET_BY_SERVICE_ONLY = Set.of("fleetprincipal", "fleetrole");

    private final HeaderFilterStrategy inbound;

    /** @param inbound the component's original strategy, still used for request headers */
    public ResponseHeaderAllowList(HeaderFilterStrategy inbound) {
        this.inbound = inbound;
    }

    @Override
    public boolean applyFilterToCamelHeaders(String headerName, Object headerValue, Exchange exchange) {
        return headerName == null || !ALLOWED.contains(headerName.toLowerCase(Locale.ROOT));
    }

    @Override
    public boolean applyFilterToExternalHeaders(String headerName, Object headerValue, Exchange exchange) {
        if (headerName != null && SET_BY_SERVICE_ONLY.contains(headerName.toLowerCase(Locale.ROOT))) {
            return true;
        }
        return inbound != null && inbound.applyFilterToExternalHeaders(headerName, headerValue, exchange);
    }
}
