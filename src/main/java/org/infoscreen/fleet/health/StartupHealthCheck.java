package org.infoscreen.fleet.health;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.List;
import java.util.Map;

/**
 * Readiness check {@code fleet-startup}: DOWN until the Camel context and every route that starts
 * by itself (auto-startup, or started by the supervising route controller) have started once — the REST routes included, so a request after
 * readiness turned UP never meets a 404 of a REST route not yet started — then UP for good (later
 * stops of a route are the business of the {@code route:<id>} checks). The supervising route
 * controller starts the routes in the background after the context, in start-up order, and the
 * MQTT ingest may take a while with a large backlog: Camel's own route checks report such pending
 * routes as UNKNOWN, which readiness counts as UP. Details: {@code routes} (auto-startup routes),
 * {@code routes_started}, and while starting {@code waiting_for} (up to 10 route ids).
 */
public class StartupHealthCheck extends AbstractHealthCheck {

    private final CamelContext context;
    private volatile boolean complete;

    /** @param context the service's Camel context */
    public StartupHealthCheck(CamelContext context) {
        super("fleet", "fleet-startup");
        this.context = context;
    }

    @Override
    public boolean isLiveness() {
        // a slow start-up is no reason to restart the process
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        // the supervising route controller takes over the auto-startup of the routes it supervises
        // (their own flag then reads false): those count, routes with an explicit false do not
        List<Route> routes = context.getRoutes().stream()
                .filter(r -> Boolean.TRUE.equals(r.isAutoStartup()) || Boolean.TRUE.equals(r.getProperties().get("supervised")))
                .toList();
        List<String> waiting = routes.stream()
                .filter(r -> context.getRouteController().getRouteStatus(r.getRouteId()) != ServiceStatus.Started)
                .map(Route::getRouteId).toList();
        if (!complete && context.getStatus() == ServiceStatus.Started && !context.getRouteController().isStartingRoutes()
                && waiting.isEmpty()) {
            complete = true;
        }
        builder.detail("routes", routes.size());
        builder.detail("routes_started", routes.size() - waiting.size());
        if (complete) {
            builder.up();
            return;
        }
        builder.detail("waiting_for", String.join(",", waiting.stream().limit(10).toList()));
        builder.message("starting: " + (routes.size() - waiting.size()) + " of " + routes.size() + " routes started"
                + (context.getStatus() == ServiceStatus.Started ? "" : ", Camel context " + context.getStatus()));
        builder.down();
    }
}
