package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.ext.web.Route;
import org.apache.camel.component.platform.http.main.MainHttpServer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.model.Model;
import org.apache.camel.model.rest.RestDefinition;
import org.apache.camel.model.rest.VerbDefinition;
import org.infoscreen.fleet.security.ApiSecurity;
import org.infoscreen.fleet.security.ApiToken;
import org.infoscreen.fleet.security.OperationRoles;
import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * REST authentication (issue #5): every HTTP endpoint of the running server except health and
 * the dashboard files needs a bearer token — enumerated at run time from the REST DSL, the
 * OpenAPI document and the Vert.x router, so a new endpoint is covered without touching this
 * test; roles per operation (403), bad tokens (401), the principal in commands and events, and
 * the server's own errors as JSON.
 */
class ApiAuthenticationTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** One HTTP request to try: method and a concrete path. */
    private record Call(String method, String path) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    // ---- 401 everywhere but health ---------------------------------------------------------

    @Test
    void everyEndpointExceptHealthAnswers401WithoutAToken() {
        Set<Call> calls = routeTable();
        assertThat(calls).as("the route table found at run time")
                .contains(new Call("GET", "/api/openapi.json"), new Call("GET", "/observe/metrics"),
                        new Call("POST", "/api/clients/" + SAMPLE + "/commands"), new Call("GET", "/api/whoami"));
        assertThat(calls.size()).isGreaterThanOrEqualTo(restVerbs().size() + 2);

        for (Call call : calls) {
            HttpResponse<String> r = httpWithoutToken(call.method(), call.path());
            assertUnauthorized(r, call.toString());
        }
    }

    @Test
    void unknownPathsAnswer401WithoutATokenAnd404AsJsonWithAnAdminToken() {
        for (String path : List.of("/api/nope", "/api", "/nope", "/observe", "/observe/nope", "/q/dev", "/api/clients/" + SAMPLE + "/nope")) {
            assertUnauthorized(httpWithoutToken("GET", path), path);
            assertError(httpAs(Role.ADMIN, "GET", path), 404, "not_found");
            // a path no operation declares needs admin: fail closed
            assertError(httpAs(Role.VIEWER, "GET", path), 403, "forbidden");
        }
    }

    @Test
    void aWrongMethodIs405AsJson() {
        assertUnauthorized(httpWithoutToken("DELETE", "/api/clients"), "DELETE /api/clients");
        assertError(httpAs(Role.ADMIN, "DELETE", "/api/clients"), 405, "method_not_allowed");
    }

    @Test
    void healthIsOpenAndNamesNoToken() {
        for (String path : List.of("/observe/health", "/observe/health/live", "/observe/health/ready")) {
            HttpResponse<String> r = httpWithoutToken("GET", path);
            assertThat(r.statusCode()).as(path + " " + r.body()).isNotIn(401, 403);
            for (Role role : Role.values()) {
                assertThat(r.body()).doesNotContain(token(role));
            }
        }
        HttpResponse<String> health = httpWithoutToken("GET", "/observe/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("fleet-api-auth");
    }

    @Test
    void aBadOrMalformedTokenIs401() {
        String good = token(Role.ADMIN);
        List<Map<String, String>> headers = List.of(
                Map.of("Authorization", "Bearer " + good.substring(0, good.length() - 1) + (good.endsWith("A") ? "B" : "A")),
                Map.of("Authorization", "Bearer " + ApiToken.newToken()),
                Map.of("Authorization", "Bearer"),
                Map.of("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(("test-admin:" + good).getBytes())),
                Map.of("Authorization", good),
                Map.of("Authorization", "Bearer " + "x".repeat(2000)));
        for (Map<String, String> h : headers) {
            HttpResponse<String> r = request("GET", "/api/clients", null, null, h);
            assertUnauthorized(r, h.toString());
            assertThat(r.body()).doesNotContain(good);
        }
        HttpResponse<String> wrong = request("GET", "/api/clients", null, null, Map.of("Authorization", "Bearer " + ApiToken.newToken()));
        assertThat(wrong.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).contains("error=\"invalid_token\""));
        // the scheme is case-insensitive (RFC 7235)
        assertThat(request("GET", "/api/clients", null, null, Map.of("Authorization", "bearer " + good)).statusCode()).isEqualTo(200);

        // refusals are counted by reason
        String metrics = httpAs(Role.VIEWER, "GET", "/observe/metrics").body();
        assertThat(metrics).containsPattern("fleet_api_requests_refused_total\\{[^}]*reason=\"invalid_token\"[^}]*} [1-9]")
                .containsPattern("fleet_api_requests_refused_total\\{[^}]*reason=\"missing_token\"[^}]*} [1-9]");
    }

    // ---- roles -----------------------------------------------------------------------------

    @Test
    void everyRestOperationDeclaresItsRole() {
        OperationRoles roles = context.getRegistry().lookupByNameAndType("apiSecurity", ApiSecurity.class).roles();
        assertThat(roles.operations()).hasSize(restVerbs().size());
        assertThat(roles.operations()).as("operations without security scopes need admin; declare a role")
                .allMatch(OperationRoles.Operation::declared);
        Map<String, Role> expected = Map.of("createCommand", Role.OPERATOR, "cancelCommand", Role.OPERATOR,
                "clearServiceFailed", Role.OPERATOR, "clearRecovery", Role.OPERATOR,
                "listClients", Role.VIEWER, "getClient", Role.VIEWER, "whoami", Role.VIEWER);
        expected.forEach((id, role) -> assertThat(roles.operations()).filteredOn(o -> o.id().equals(id))
                .singleElement().satisfies(o -> assertThat(o.role()).as(id).isEqualTo(role)));
        roles.operations().stream().filter(o -> o.method().equals("GET"))
                .forEach(o -> assertThat(o.role()).as("reads are for viewers: " + o.id()).isEqualTo(Role.VIEWER));
    }

    @Test
    void aTokenWithARoleBelowTheOperationsRoleIs403OnEveryOperation() {
        OperationRoles roles = context.getRegistry().lookupByNameAndType("apiSecurity", ApiSecurity.class).roles();
        int checked = 0;
        for (OperationRoles.Operation op : roles.operations()) {
            String path = concrete(op.template());
            for (Role role : Role.values()) {
                HttpResponse<String> r = request(op.method(), path, op.method().equals("GET") ? null : "{}", token(role), Map.of());
                if (role.includes(op.role())) {
                    assertThat(r.statusCode()).as(op + " as " + role + ": " + r.body()).isNotIn(401, 403);
                } else {
                    assertError(r, 403, "forbidden");
                    assertThat(json(r.body()).path("message").asText()).contains(op.role().id(), role.id());
                    checked++;
                }
            }
        }
        assertThat(checked).as("operations above viewer were tried with lower roles").isGreaterThanOrEqualTo(4);
    }

    @Test
    void theOpenApiDocumentShowsTheBearerSchemeAndTheRoleOfEveryOperation() {
        HttpResponse<String> r = httpAs(Role.VIEWER, "GET", "/api/openapi.json");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode doc = json(r.body());
        JsonNode scheme = doc.at("/components/securitySchemes/bearer");
        assertThat(scheme.path("type").asText()).isEqualTo("http");
        assertThat(scheme.path("scheme").asText()).isEqualTo("bearer");
        OperationRoles roles = context.getRegistry().lookupByNameAndType("apiSecurity", ApiSecurity.class).roles();
        for (OperationRoles.Operation op : roles.operations()) {
            JsonNode operation = doc.path("paths").path(op.template()).path(op.method().toLowerCase(Locale.ROOT));
            assertThat(operation.isObject()).as(op.toString()).isTrue();
            assertThat(operation.at("/security/0/bearer/0").asText()).as(op.toString()).isEqualTo(op.role().id());
        }
    }

    @Test
    void whoamiNamesTheTokenAndItsRole() {
        for (Role role : Role.values()) {
            HttpResponse<String> r = httpAs(role, "GET", "/api/whoami");
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode body = json(r.body());
            assertThat(body.path("name").asText()).isEqualTo(tokenName(role));
            assertThat(body.path("role").asText()).isEqualTo(role.id());
            assertThat(body.path("auth_enabled").asBoolean()).isTrue();
        }
    }

    // ---- who did it ------------------------------------------------------------------------

    @Test
    void theTokenNameIsRecordedInCommandsCancellationsAndAcknowledgements() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"process_status\":\"running\"}");
        publish(uuid, "service_failed", "{\"unit\":\"player.service\",\"event_id\":\"ev-auth-1\"}");
        await().atMost(WAIT).until(() -> "player.service".equals(scalar("SELECT service_failed_unit FROM clients WHERE uuid = ?", uuid)));

        // a client-sent fleetPrincipal (header, query parameter) is ignored
        HttpResponse<String> created = request("POST", "/api/clients/" + uuid + "/commands?fleetPrincipal=mallory",
                "{\"action\":\"restart_app\"}", token(Role.OPERATOR), Map.of("fleetPrincipal", "mallory", "FleetRole", "admin"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        String id = json(created.body()).path("id").asText();
        assertThat(json(created.body()).path("requested_by").asText()).isEqualTo("test-operator");
        assertThat(commandRow(id)).containsEntry("requested_by", "test-operator");
        assertThat(eventDetail(id, "command_queued").path("requested_by").asText()).isEqualTo("test-operator");

        HttpResponse<String> cancelled = httpPostAs(Role.ADMIN, "/api/commands/" + id + "/cancel", "");
        assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
        assertThat(eventDetail(id, "command_cancelled").path("requested_by").asText()).isEqualTo("test-admin");
        assertThat((String) commandRow(id).get("detail")).isEqualTo("cancelled by test-admin");

        assertThat(httpPostAs(Role.OPERATOR, "/api/clients/" + uuid + "/clear_service_failed", "").statusCode()).isEqualTo(200);
        assertThat(clientEventDetail(uuid, "service_failed_cleared").path("requested_by").asText()).isEqualTo("test-operator");

        update("UPDATE clients SET recovery_state = 'exhausted' WHERE uuid = ?", uuid);
        assertThat(httpPostAs(Role.OPERATOR, "/api/clients/" + uuid + "/clear_recovery", "").statusCode()).isEqualTo(200);
        assertThat(clientEventDetail(uuid, "recovery_cleared").path("requested_by").asText()).isEqualTo("test-operator");
    }

    // ---- limits and server errors -------------------------------------------------------------

    @Test
    void aBodyOverTheLimitIs413AsJson() {
        UUID uuid = UUID.randomUUID();
        String big = "{\"action\":\"restart_app\",\"reason\":\"" + "x".repeat(70_000) + "\"}";
        HttpResponse<String> r = httpPostAs(Role.OPERATOR, "/api/clients/" + uuid + "/commands", big);
        assertError(r, 413, "body_too_large");
        // without a token the body is not even read
        assertUnauthorized(request("POST", "/api/clients/" + uuid + "/commands", big, null, Map.of()), "big body without token");
    }

    // ---- rotation --------------------------------------------------------------------------

    @Test
    void aTokenAddedToTheTokensFileIsAcceptedAndARemovedOneRefusedWithoutARestart() throws Exception {
        String added = ApiToken.newToken();
        String before = Files.readString(tokensFile());
        Files.writeString(tokensFile(), ApiToken.configLine("rotated-ops", Role.OPERATOR, added) + "\n", StandardOpenOption.APPEND);
        try {
            await().atMost(WAIT).until(() -> request("GET", "/api/whoami", null, added, Map.of()).statusCode() == 200);
            assertThat(json(request("GET", "/api/whoami", null, added, Map.of()).body()).path("name").asText()).isEqualTo("rotated-ops");
        } finally {
            Files.writeString(tokensFile(), before);
        }
        await().atMost(WAIT).until(() -> request("GET", "/api/whoami", null, added, Map.of()).statusCode() == 401);
        assertThat(httpAs(Role.ADMIN, "GET", "/api/whoami").statusCode()).isEqualTo(200);
    }

    // ---- helpers ---------------------------------------------------------------------------

    private static final UUID SAMPLE = UUID.fromString("00000000-0000-4000-8000-000000000005");

    /**
     * Every endpoint the running server has, apart from health: the REST DSL operations, the
     * paths of the OpenAPI document and every route of the Vert.x router (management endpoints
     * such as metrics, anything Camel generates). Path parameters get a sample UUID.
     */
    private Set<Call> routeTable() {
        Set<Call> calls = new LinkedHashSet<>();
        for (String[] verb : restVerbs()) {
            calls.add(new Call(verb[0], concrete(verb[1])));
        }
        JsonNode doc = json(httpAs(Role.ADMIN, "GET", "/api/openapi.json").body());
        for (Iterator<Map.Entry<String, JsonNode>> it = doc.path("paths").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> path = it.next();
            path.getValue().fieldNames().forEachRemaining(m -> calls.add(new Call(m.toUpperCase(Locale.ROOT), concrete(path.getKey()))));
        }
        MainHttpServer server = context.hasService(MainHttpServer.class);
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(context, VertxPlatformHttpRouter.getRouterNameFromPort(server.getPort()));
        for (Route route : router.getRoutes()) {
            String path = route.getPath();
            if (path == null || path.equals("/") || path.startsWith("/observe/health") || path.startsWith("/assets/")) {
                continue; // the access handler itself ("/*"), the open health endpoints and dashboard files
            }
            Set<io.vertx.core.http.HttpMethod> methods = route.methods();
            for (String m : methods == null || methods.isEmpty() ? List.of("GET", "POST") : methods.stream().map(io.vertx.core.http.HttpMethod::name).toList()) {
                calls.add(new Call(m, concrete(path)));
            }
        }
        return calls;
    }

    /**
     * docs/api.md "Roles per operation": every REST operation's role as the service enforces it
     * ({@link org.infoscreen.fleet.security.OperationRoles}) is the role the table gives it — an
     * explicit row for its method and path, else "every /api/... read" (GET: viewer), else "any"
     * (admin) — and every explicit row names an existing operation.
     */
    @Test
    void theRoleTableOfTheApiDocMatchesTheEnforcedRoles() throws Exception {
        String doc = java.nio.file.Files.readString(java.nio.file.Path.of("docs/api.md"));
        String section = doc.substring(doc.indexOf("### Roles per operation"), doc.indexOf("### Tokens"));
        Map<String, Role> rows = new java.util.HashMap<>();
        java.util.regex.Pattern code = java.util.regex.Pattern.compile("`([^`]+)`");
        for (String line : section.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| method")).toList()) {
            String[] cells = line.split("\\|");
            String methods = cells[1].strip();
            Role role = Role.of(cells[3].strip());
            var m = code.matcher(cells[2]);
            while (m.find()) {
                if (m.group(1).startsWith("/api/") && !m.group(1).contains("...")) {
                    for (String method : methods.split(",\\s*")) {
                        rows.put(method + " " + m.group(1), role);
                    }
                }
            }
        }
        assertThat(rows).as("explicit rows of the role table").isNotEmpty();
        var roles = context.getRegistry().lookupByNameAndType("apiSecurity", org.infoscreen.fleet.security.ApiSecurity.class).roles();
        var operations = roles.operations();
        Set<String> enforced = new java.util.HashSet<>();
        // paths Camel generates (OpenAPI document, metrics): GET
        roles.generated().forEach((path, role) -> {
            enforced.add("GET " + path);
            assertThat(role).as("GET " + path + " in docs/api.md").isEqualTo(rows.getOrDefault("GET " + path, Role.VIEWER));
        });
        for (var op : operations) {
            String key = op.method() + " " + op.template();
            enforced.add(key);
            Role documented = rows.getOrDefault(key, "GET".equals(op.method()) ? Role.VIEWER : Role.ADMIN);
            assertThat(op.role()).as(key + " (" + op.id() + ") in docs/api.md").isEqualTo(documented);
        }
        assertThat(enforced).as("operations named in the role table").containsAll(rows.keySet());
    }

    private List<String[]> restVerbs() {
        List<String[]> out = new ArrayList<>();
        Model model = context.getCamelContextExtension().getContextPlugin(Model.class);
        for (RestDefinition rest : model.getRestDefinitions()) {
            for (VerbDefinition verb : rest.getVerbs()) {
                out.add(new String[] {verb.asVerb().toUpperCase(Locale.ROOT), (rest.getPath() + "/" + verb.getPath()).replaceAll("/+", "/")});
            }
        }
        return out;
    }

    private static String concrete(String template) {
        return template.replaceAll("\\{[^/}]+}", SAMPLE.toString()).replaceAll(":[A-Za-z_][A-Za-z0-9_]*", SAMPLE.toString())
                .replace("*", "x");
    }

    private static void assertUnauthorized(HttpResponse<String> r, String label) {
        assertThat(r.statusCode()).as(label + " -> " + r.body()).isEqualTo(401);
        assertError(r, 401, "unauthorized");
        assertThat(r.headers().firstValue("WWW-Authenticate")).as(label).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    }

    private JsonNode eventDetail(String commandId, String type) {
        return json(String.valueOf(scalar("SELECT CAST(detail AS text) FROM client_events WHERE command_id = ? AND type = ?",
                UUID.fromString(commandId), type)));
    }

    private JsonNode clientEventDetail(UUID client, String type) {
        return json(String.valueOf(scalar("SELECT CAST(detail AS text) FROM client_events WHERE client_uuid = ? AND type = ? ORDER BY id DESC LIMIT 1",
                client, type)));
    }
}
