package org.infoscreen.fleet.security;

import io.vertx.ext.auth.User;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Route;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpConstants;
import org.apache.camel.spi.RoutePolicy;
import org.apache.camel.spi.RoutePolicyFactory;
import org.apache.camel.support.RoutePolicySupport;

/**
 * Gives every exchange that came in over HTTP the headers {@value #PRINCIPAL} (the authenticated
 * token's name) and {@value #ROLE} (its role), from the user {@link ApiAccessHandler} set; without
 * one (open paths) both are removed. Client-sent headers, query parameters or form fields of these
 * names never reach a route: {@link org.infoscreen.fleet.rest.ResponseHeaderAllowList} drops them
 * on the way in and this policy overwrites them again when the exchange enters each route.
 */
public final class PrincipalRoutePolicyFactory implements RoutePolicyFactory {

    /** Header with the name of the authenticated API token ({@code requested_by}, event actor). */
    public static final String PRINCIPAL = "fleetPrincipal";
    /** Header with the role of the authenticated API token. */
    public static final String ROLE = "fleetRole";

    private static final RoutePolicy POLICY = new RoutePolicySupport() {
        @Override
        public void onExchangeBegin(Route route, Exchange exchange) {
            if (!(exchange.getFromEndpoint() instanceof PlatformHttpEndpoint)) {
                return;
            }
            Object user = exchange.getMessage().getHeader(VertxPlatformHttpConstants.AUTHENTICATED_USER);
            if (user instanceof User u && u.principal().getString("username") != null) {
                exchange.getMessage().setHeader(PRINCIPAL, u.principal().getString("username"));
                exchange.getMessage().setHeader(ROLE, u.principal().getString(ApiAccessHandler.ROLE_KEY));
            } else {
                exchange.getMessage().removeHeader(PRINCIPAL);
                exchange.getMessage().removeHeader(ROLE);
            }
        }
    };

    @Override
    public RoutePolicy createRoutePolicy(CamelContext camelContext, String routeId, NamedNode route) {
        return POLICY;
    }
}
