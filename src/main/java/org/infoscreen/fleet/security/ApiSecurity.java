package org.infoscreen.fleet.security;

import io.vertx.ext.web.Router;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.main.MainHttpServer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServerConfiguration;
import org.apache.camel.component.platform.http.vertx.auth.AuthenticationConfig;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.SimpleEventNotifierSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Puts REST authentication in front of the HTTP server (issue #5): chooses the API tokens
 * ({@code API_TOKENS}, else {@code API_TOKENS_FILE}, else the bootstrap admin token), installs
 * {@link ApiAccessHandler} as the first route of the Vert.x router before the server listens,
 * keeps the operation → role table in step with the REST DSL, and answers the router's own errors
 * as JSON. Also the bean of {@code GET /api/whoami}.
 */
public class ApiSecurity {

    private static final Logger LOG = LoggerFactory.getLogger(ApiSecurity.class);

    private final boolean enabled;
    private final TokenStore tokens;
    private final OpenPaths openPaths;
    private final long maxBodyBytes;
    private final AtomicReference<OperationRoles> roles = new AtomicReference<>(OperationRoles.adminOnly());
    private volatile boolean installed;
    /** set when the context starts stopping; never reset (a stopped context is not started again) */
    private volatile boolean stopping;
    private volatile io.micrometer.core.instrument.MeterRegistry meters;

    /**
     * @param enabled      whether tokens are required ({@code API_AUTH_ENABLED})
     * @param tokens       the tokens in force, or null when authentication is disabled
     * @param openPaths    paths open without a token
     * @param maxBodyBytes the REST body limit, for the 413 message
     */
    public ApiSecurity(boolean enabled, TokenStore tokens, OpenPaths openPaths, long maxBodyBytes) {
        this.enabled = enabled;
        this.tokens = tokens;
        this.openPaths = openPaths;
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * Chooses the tokens: {@code inline} ({@code API_TOKENS}) wins over {@code file}
     * ({@code API_TOKENS_FILE}); with neither, the bootstrap admin token (created now if needed).
     *
     * @param inline        value of {@code API_TOKENS}, or null
     * @param file          path of {@code API_TOKENS_FILE}, or null/blank
     * @param dataSource    the migrated database (bootstrap token)
     * @param bootstrapFile where a new bootstrap token is written
     * @return the token store
     * @throws IllegalArgumentException for malformed token configuration (no value in the message)
     */
    public static TokenStore tokens(String inline, String file, DataSource dataSource, Path bootstrapFile) {
        boolean hasFile = file != null && !file.isBlank();
        TokenStore store;
        if (inline != null && !inline.isBlank()) {
            if (hasFile) {
                LOG.warn("Both API_TOKENS and API_TOKENS_FILE are set: API_TOKENS is used, the file is ignored");
            }
            store = TokenStore.of("API_TOKENS", TokenStore.parse(inline, "API_TOKENS"));
        } else if (hasFile) {
            store = TokenStore.ofFile(Path.of(file));
        } else {
            return TokenStore.of("bootstrap admin token", java.util.List.of(BootstrapAdminToken.ensure(dataSource, bootstrapFile)));
        }
        if (store.tokens().isEmpty()) {
            LOG.warn("{} holds no API token: every request except health and the dashboard files is refused (401)", store.source());
        } else {
            LOG.info("REST authentication on: {} API token(s) from {}: {}", store.tokens().size(), store.source(),
                    TokenStore.names(store.tokens()));
        }
        return store;
    }

    /**
     * Hooks into the Camel context: when the context is initialized (routes loaded, HTTP server
     * not yet listening) the role table is read and the access handler goes into the HTTP server's
     * configuration, so it is the router's first route from the first request on; the JSON error
     * handlers follow once the server runs; the table is read again whenever routes are added
     * (route reload).
     *
     * @param context the Camel context
     */
    public void install(CamelContext context) {
        if (!enabled) {
            LOG.warn("REST AUTHENTICATION IS DISABLED (API_AUTH_ENABLED=false): every endpoint answers without a token. "
                    + "Only run like this behind a proxy that authenticates every request.");
        }
        context.addRoutePolicyFactory(new PrincipalRoutePolicyFactory());
        context.getManagementStrategy().addEventNotifier(new SimpleEventNotifierSupport() {
            @Override
            public void notify(CamelEvent event) {
                // the HTTP server listens while the context starts, the routes start afterwards (supervised)
                if (event instanceof CamelEvent.CamelContextInitializedEvent) {
                    refreshRoles(context);
                    addAccessHandler(context);
                } else if (event instanceof CamelEvent.CamelContextStartedEvent) {
                    installErrorHandlers(context);
                    meters = context.getRegistry().findByType(io.micrometer.core.instrument.MeterRegistry.class).stream()
                            .findFirst().orElse(null);
                } else if (event instanceof CamelEvent.CamelContextStoppingEvent) {
                    stopping = true;
                } else if (event instanceof CamelEvent.RouteAddedEvent && installed) {
                    refreshRoles(context);
                }
            }
        });
    }

    /** Counts a refused request: metric {@code fleet_api_requests_refused_total{reason}}. */
    private void refused(String reason) {
        var m = meters;
        if (m != null) {
            m.counter("fleet.api.requests.refused", "reason", reason).increment();
        }
    }

    private void addAccessHandler(CamelContext context) {
        MainHttpServer server = context.hasService(MainHttpServer.class);
        if (server == null) {
            throw new IllegalStateException("the HTTP server (camel.server.enabled) is missing: REST authentication cannot be installed");
        }
        var management = context.hasService(org.apache.camel.component.platform.http.main.ManagementHttpServer.class);
        if (management != null && management.getPort() != server.getPort()) {
            // the access handler guards one server; a second one would serve metrics without it
            throw new IllegalStateException("camel.management.port must equal camel.server.port (HTTP_PORT)");
        }
        VertxPlatformHttpServerConfiguration configuration = server.getConfiguration();
        AuthenticationConfig auth = configuration.getAuthenticationConfig();
        ApiAccessHandler handler = new ApiAccessHandler(enabled, () -> tokens, openPaths, roles, this::refused, new OpenHealth(context),
                () -> stopping || stopping(context),
                context.getPropertiesComponent().resolveProperty("fleet.rest.retry-after-s").map(Integer::parseInt).orElse(5));
        AuthenticationConfig.AuthenticationConfigEntry entry = new AuthenticationConfig.AuthenticationConfigEntry();
        // one entry for every path; added before the server's own routes, so it runs first
        entry.setPath("/*");
        entry.setAuthenticationProviderFactory(vertx -> null);
        entry.setAuthenticationHandlerFactory(new AuthenticationConfig.AuthenticationHandlerFactory() {
            @Override
            @SuppressWarnings("unchecked")
            public <T extends io.vertx.ext.auth.authentication.AuthenticationProvider> io.vertx.ext.web.handler.AuthenticationHandler
                    createAuthenticationHandler(T provider) {
                return handler;
            }
        });
        auth.getEntries().add(entry);
        auth.setEnabled(true);
        installed = true;
    }

    /**
     * @return whether the context is stopping or stopped: on shutdown camel-main stops the routes
     *         (their platform-http endpoints leave the router) before the HTTP server. The status
     *         alone does not do: after {@code Stopped} it moves on while the server still answers
     *         (404 for every route), so the stopping event sets a flag for good as well.
     */
    private static boolean stopping(CamelContext context) {
        org.apache.camel.ServiceStatus status = context.getStatus();
        return status == org.apache.camel.ServiceStatus.Stopping || status == org.apache.camel.ServiceStatus.Stopped;
    }

    private void refreshRoles(CamelContext context) {
        Map<String, Role> generated = new LinkedHashMap<>();
        var rest = context.getRestConfiguration();
        if (rest.getApiContextPath() != null) {
            String ctx = rest.getContextPath() == null ? "" : rest.getContextPath();
            generated.put((ctx + "/" + rest.getApiContextPath()).replaceAll("/+", "/"), Role.VIEWER);
        }
        generated.put("/observe/metrics", Role.VIEWER);
        OperationRoles table = OperationRoles.of(context, generated);
        roles.set(table);
        table.operations().stream().filter(o -> !o.declared()).forEach(o -> LOG.warn(
                "REST operation {} {} ({}) declares no role (security scopes): it needs admin", o.method(), o.template(), o.id()));
    }

    private void installErrorHandlers(CamelContext context) {
        MainHttpServer server = context.hasService(MainHttpServer.class);
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(context,
                VertxPlatformHttpRouter.getRouterNameFromPort(server.getPort()));
        if (router == null) {
            throw new IllegalStateException("platform-http router for port " + server.getPort() + " not found");
        }
        ErrorResponses.install(router, maxBodyBytes);
        if (router.getServer().getServer().requestHandler() instanceof Router root) {
            ErrorResponses.install(root, maxBodyBytes);
        }
    }

    /** @return whether authentication is on */
    public boolean enabled() {
        return enabled;
    }

    /** @return the role table in force */
    public OperationRoles roles() {
        return roles.get();
    }

    /**
     * {@code GET /api/whoami}.
     *
     * @param principal the token's name ({@code fleetPrincipal})
     * @param role      the token's role ({@code fleetRole})
     * @return {@code {"name": ..., "role": ..., "auth_enabled": true|false}}
     */
    public String whoami(String principal, String role) {
        return new io.vertx.core.json.JsonObject().put("name", principal).put("role", role).put("auth_enabled", enabled).encode();
    }
}
