package org.infoscreen.fleet.power;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Request;

import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;

/**
 * A Redfish BMC over HTTPS: {@code GET /redfish/v1/Systems/1} with {@code PowerState} and the
 * {@code #ComputerSystem.Reset} action and its {@code ResetType@Redfish.AllowableValues}; the reset
 * POST answers 400 with a Redfish error for a reset type the system does not allow; HTTP Basic or
 * sessions ({@code POST /redfish/v1/SessionService/Sessions} → {@code X-Auth-Token} and
 * {@code Location}; {@code DELETE} logs out).
 */
public final class RedfishFake extends FakeDevice {

    private static final String SYSTEM = "/redfish/v1/Systems/1";
    private static final String RESET = SYSTEM + "/Actions/ComputerSystem.Reset";
    private final String user;
    private final String password;
    private final List<String> allowed;
    private final List<String> refused;
    private final Set<String> sessions = ConcurrentHashMap.newKeySet();
    private final Set<String> loggedOut = ConcurrentHashMap.newKeySet();

    /** @param allowed the reset types the system allows, e.g. {@code On, ForceOff, PowerCycle} */
    public RedfishFake(String user, String password, List<String> allowed) {
        this(user, password, allowed, List.of());
    }

    /**
     * @param allowed the reset types the system advertises in AllowableValues
     * @param refused advertised types it still answers 400 for (firmware that lies)
     */
    public RedfishFake(String user, String password, List<String> allowed, List<String> refused) {
        super(true);
        this.user = user;
        this.password = password;
        this.allowed = allowed;
        this.refused = refused;
    }

    /** @return sessions created and not logged out */
    public int openSessions() {
        return sessions.size();
    }

    /** @return sessions logged out */
    public int loggedOutSessions() {
        return loggedOut.size();
    }

    @Override
    protected ResponseDefinitionBuilder answer(Request request) {
        String url = request.getUrl();
        String method = request.getMethod().value();
        if ("POST".equals(method) && url.equals("/redfish/v1/SessionService/Sessions")) {
            JsonNode login = body(request);
            if (!user.equals(login.path("UserName").asText()) || !password.equals(login.path("Password").asText())) {
                return error(401, "Base.1.8.NoValidSession", "invalid credentials");
            }
            String token = UUID.randomUUID().toString();
            sessions.add(token);
            return json(201, "{\"Id\":\"" + token + "\",\"UserName\":\"" + user + "\"}")
                    .withHeader("X-Auth-Token", token)
                    .withHeader("Location", "/redfish/v1/SessionService/Sessions/" + token);
        }
        String token = request.getHeader("X-Auth-Token");
        boolean authed = (token != null && sessions.contains(token)) || basicOk(request, user, password);
        if (!authed) {
            return error(401, "Base.1.8.NoValidSession", "authentication required").withHeader("WWW-Authenticate", "Basic realm=\"Redfish\"");
        }
        if ("DELETE".equals(method) && url.startsWith("/redfish/v1/SessionService/Sessions/")) {
            String id = url.substring(url.lastIndexOf('/') + 1);
            sessions.remove(id);
            loggedOut.add(id);
            return aResponse().withStatus(204);
        }
        if ("GET".equals(method) && url.equals(SYSTEM)) {
            ObjectNode s = JSON.createObjectNode();
            s.put("@odata.id", SYSTEM);
            s.put("Id", "1");
            s.put("PowerState", isOn(0) ? "On" : "Off");
            ObjectNode reset = s.putObject("Actions").putObject("#ComputerSystem.Reset");
            reset.put("target", RESET);
            ArrayNode a = reset.putArray("ResetType@Redfish.AllowableValues");
            allowed.forEach(a::add);
            return json(200, s);
        }
        if ("POST".equals(method) && url.equals(RESET)) {
            String type = body(request).path("ResetType").asText();
            if (!allowed.contains(type) || refused.contains(type)) {
                return error(400, "Base.1.8.ActionParameterNotSupported",
                        "The parameter ResetType for the action ComputerSystem.Reset is not supported on the target resource.");
            }
            switch (type) {
                case "On", "ForceOn" -> set(0, true, "ResetType " + type);
                case "ForceOff", "GracefulShutdown" -> set(0, false, "ResetType " + type);
                case "PowerCycle" -> {
                    set(0, false, "ResetType PowerCycle");
                    setLater(0, true, 1, "PowerCycle on");
                }
                default -> {
                    return error(400, "Base.1.8.ActionParameterNotSupported", "unsupported");
                }
            }
            return aResponse().withStatus(204);
        }
        return error(404, "Base.1.8.ResourceMissingAtURI", "not found");
    }

    private static ResponseDefinitionBuilder error(int status, String code, String message) {
        ObjectNode e = JSON.createObjectNode();
        e.putObject("error").put("code", code).put("message", message);
        return json(status, e);
    }
}
