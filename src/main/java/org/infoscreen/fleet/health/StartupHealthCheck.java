package org.infoscreen.fleet.health;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Readiness check {@code fleet-startup}: DOWN until the Camel context and every route that starts
 * by itself (auto-startup, or started by the supervising route controller) have started once — the REST routes included, so a request after
 * readiness turned UP never meets a 404 of a REST route not yet started — then UP for good (later
 * stops of a route are the business of the {@code route:<id>} checks).
 *
 * <p>Start-up completion is decided from Camel events, not from the moment of a probe: the routes
 * to wait for are those present when the Camel context finished starting (routes created later,
 * such as the {@code <driver>-power-action-N} routes a kamelet creates per use and that are stopped
 * between power cycles, and any route created from a kamelet or route template, never count), and
 * a route counts once a {@code RouteStartedEvent} was seen for it — so a power cycle before the
 * first readiness probe cannot keep readiness DOWN. The supervising route controller starts the
 * routes in the background after the context, in start-up order, and the MQTT ingest may take a
 * while with a large backlog: Camel's own route checks report such pending routes as UNKNOWN,
 * which readiness counts as UP. Details: {@code routes} (start-up routes), {@code routes_started},
 * and while starting {@code waiting_for} (up to 10 route ids).
 */
public class StartupHealthCheck extends AbstractHealthCheck {

    private final CamelContext context;
    private final Set<String> startedOnce = ConcurrentHashMap.newKeySet();
    private volatile List<String> startupRoutes;
    private volatile boolean complete;

    /**
     * Registers an event notifier on {@code context} (call before the context starts).
     *
     * @param context the service's Camel context
     */
    public StartupHealthCheck(CamelContext context) {
        super("fleet", "fleet-startup");
        this.context = context;
        context.getManagementStrategy().addEventNotifier(new StartupEvents());
    }

    @Override
    public boolean isLiveness() {
        // a slow start-up is no reason to restart the process
        return false;
    }

    private List<String> waiting(List<String> routes) {
        return routes.stream().filter(id -> !startedOnce.contains(id)).toList();
    }

    private void checkComplete() {
        List<String> routes = startupRoutes;
        if (!complete && routes != null && context.getStatus() == ServiceStatus.Started
                && !context.getRouteController().isStartingRoutes() && waiting(routes).isEmpty()) {
            complete = true;
        }
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        checkComplete();
        List<String> routes = startupRoutes;
        if (routes == null) {
            routes = startupCandidates();
        }
        List<String> waiting = waiting(routes);
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

    /** Routes that start by themselves, without those created from a kamelet or route template. */
    private List<String> startupCandidates() {
        // the supervising route controller takes over the auto-startup of the routes it supervises
        // (their own flag then reads false): those count, routes with an explicit false do not
        return context.getRoutes().stream()
                .filter(r -> !r.isCreatedByKamelet() && !r.isCreatedByRouteTemplate())
                .filter(r -> Boolean.TRUE.equals(r.isAutoStartup()) || Boolean.TRUE.equals(r.getProperties().get("supervised")))
                .map(Route::getRouteId).toList();
    }

    /** Records route starts and, when the context has started, the routes start-up waits for. */
    private final class StartupEvents extends EventNotifierSupport {
        @Override
        public boolean isEnabled(CamelEvent event) {
            return event instanceof CamelEvent.RouteStartedEvent || event instanceof CamelEvent.CamelContextStartedEvent
                    || event instanceof CamelEvent.CamelContextRoutesStartedEvent;
        }

        @Override
        public void notify(CamelEvent event) {
            if (event instanceof CamelEvent.RouteStartedEvent started) {
                startedOnce.add(started.getRoute().getRouteId());
            } else if (event instanceof CamelEvent.CamelContextStartedEvent && startupRoutes == null) {
                List<String> routes = startupCandidates();
                routes.stream().filter(id -> context.getRouteController().getRouteStatus(id) == ServiceStatus.Started)
                        .forEach(startedOnce::add);
                startupRoutes = routes;
            }
            checkComplete();
        }
    }
}
