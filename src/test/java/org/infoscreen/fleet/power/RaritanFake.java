package org.infoscreen.fleet.power;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Request;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;

/**
 * A Raritan PX PDU over HTTPS (WireMock's self-signed certificate): JSON-RPC 2.0 on
 * {@code /model/pdu/0/outlet/{n}} with {@code getState} ({@code _ret_.powerState} 0/1),
 * {@code setPowerState {"pstate"}} and {@code cyclePowerState} (off, back on after the PDU's own
 * delay); HTTP Basic, 401 otherwise; an unknown outlet is a JSON-RPC error.
 */
public final class RaritanFake extends FakeDevice {

    private static final Pattern OUTLET = Pattern.compile("/model/pdu/0/outlet/(\\d+)");
    private final String user;
    private final String password;
    private final double cycleDelayS;

    /** A PDU whose outlets 0-15 exist; {@code cyclePowerState} keeps an outlet off for {@code cycleDelayS}. */
    public RaritanFake(String user, String password, double cycleDelayS) {
        super(true);
        this.user = user;
        this.password = password;
        this.cycleDelayS = cycleDelayS;
    }

    @Override
    protected ResponseDefinitionBuilder answer(Request request) {
        if (!basicOk(request, user, password)) {
            return aResponse().withStatus(401).withHeader("WWW-Authenticate", "Basic realm=\"Raritan PX3\"");
        }
        Matcher m = OUTLET.matcher(request.getUrl());
        JsonNode rpc = body(request);
        ObjectNode answer = JSON.createObjectNode().put("jsonrpc", "2.0").put("id", rpc.path("id").asInt());
        if (!m.matches() || Integer.parseInt(m.group(1)) > 15) {
            answer.putObject("error").put("code", -32601).put("message", "no such resource");
            return json(200, answer);
        }
        int outlet = Integer.parseInt(m.group(1));
        switch (rpc.path("method").asText()) {
            case "getState" -> answer.putObject("result").putObject("_ret_").put("powerState", isOn(outlet) ? 1 : 0)
                    .put("available", true).put("cycleInProgress", false);
            case "setPowerState" -> {
                set(outlet, rpc.path("params").path("pstate").asInt() == 1, "setPowerState " + rpc.path("params").path("pstate").asInt());
                answer.putObject("result").put("_ret_", 0);
            }
            case "cyclePowerState" -> {
                set(outlet, false, "cyclePowerState");
                setLater(outlet, true, cycleDelayS, "cycle delay over");
                answer.putObject("result").put("_ret_", 0);
            }
            default -> answer.putObject("error").put("code", -32601).put("message", "Method not found");
        }
        return json(200, answer);
    }
}
