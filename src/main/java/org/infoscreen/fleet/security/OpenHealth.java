package org.infoscreen.fleet.security;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.health.HealthCheckRegistry;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * The answer of {@code /observe/health}, {@code /observe/health/live} and
 * {@code /observe/health/ready} to a request without a valid API token: overall status and, per
 * check, its name, status and reason codes (detail keys ending in {@code reason}, e.g.
 * {@code fleet-mqtt}'s {@code <client id>.last_failure_reason = auth_refused}). Failure texts,
 * messages, error messages, stack traces and other details — broker addresses, file paths,
 * exception texts — are shown only with a token (Camel's own health answer). The query options of
 * Camel's answer ({@code data}, {@code stackTrace}, {@code exposureLevel}) are ignored here.
 *
 * <p>HTTP status 200 when UP, 503 when DOWN, like Camel's answer, so probes (Docker, Kubernetes,
 * load balancers) can use either. Also answers HEAD on these paths (status and headers, no body),
 * which Camel's health routes refuse with 405.
 */
final class OpenHealth implements Handler<RoutingContext> {

    private final CamelContext context;

    /** @param context the Camel context whose health checks are asked */
    OpenHealth(CamelContext context) {
        this.context = context;
    }

    @Override
    public void handle(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        boolean live = path.equals(OpenPaths.HEALTH + "/live");
        boolean ready = path.equals(OpenPaths.HEALTH + "/ready");
        if (!live && !ready && !path.equals(OpenPaths.HEALTH)) {
            ErrorResponses.send(ctx, 404, "not_found", "no endpoint at this path");
            return;
        }
        // health checks may query the database: off the event loop
        ctx.vertx().<JsonObject>executeBlocking(() -> answer(live, ready), false).onComplete(done -> {
            if (ctx.response().ended() || ctx.response().closed()) {
                return;
            }
            if (done.failed()) {
                ErrorResponses.send(ctx, 500, "internal_error", "the health checks could not be run");
                return;
            }
            JsonObject body = done.result();
            ctx.response().setStatusCode("UP".equals(body.getString("status")) ? 200 : 503)
                    .putHeader("Content-Type", "application/json")
                    .putHeader("Cache-Control", "no-store");
            if (ctx.request().method() == io.vertx.core.http.HttpMethod.HEAD) {
                ctx.response().end();
            } else {
                ctx.response().end(body.encode());
            }
        });
    }

    private JsonObject answer(boolean live, boolean ready) {
        String level = HealthCheckRegistry.get(context).getExposureLevel();
        Collection<HealthCheck.Result> results = live ? HealthCheckHelper.invokeLiveness(context, level)
                : ready ? HealthCheckHelper.invokeReadiness(context, level)
                : HealthCheckHelper.invoke(context, level);
        JsonArray checks = new JsonArray();
        for (HealthCheck.Result r : results) {
            if (!"full".equals(level) && r.getState() != HealthCheck.State.DOWN) {
                continue;
            }
            JsonObject check = new JsonObject().put("name", r.getCheck().getId()).put("status", r.getState().name());
            checks.add(check);
            Map<String, Object> reasons = new TreeMap<>();
            if (r.getDetails() != null) {
                r.getDetails().forEach((k, v) -> {
                    if (k.endsWith("reason") && v != null) {
                        reasons.put(k, String.valueOf(v));
                    }
                });
            }
            if (!reasons.isEmpty()) {
                check.put("reasons", new JsonObject(reasons));
            }
        }
        JsonObject body = new JsonObject().put("status", HealthCheckHelper.isResultsUp(results, ready) ? "UP" : "DOWN");
        if (!"oneline".equals(level) && !checks.isEmpty()) {
            body.put("checks", checks);
        }
        return body;
    }
}
