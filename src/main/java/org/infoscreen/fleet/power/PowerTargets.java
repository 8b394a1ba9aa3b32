package org.infoscreen.fleet.power;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.infoscreen.fleet.rest.ApiException;
import org.infoscreen.fleet.support.Secrets;
import org.infoscreen.fleet.support.Text;
import org.postgresql.util.PGobject;

import java.sql.Timestamp;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The REST side of power targets (bean {@code powerTargets}): validates
 * {@code PUT /api/clients/{uuid}/power_target} bodies {@code {"driver", "params", "secret_ref"?,
 * "protected"?}} against the driver's declared parameters, renders a stored target (never a
 * secret: only the name of the variable that holds it), and checks a
 * {@code POST /api/clients/{uuid}/power_cycle} before the command is created.
 */
public class PowerTargets {

    private static final Set<String> FIELDS = Set.of("driver", "params", "secret_ref", "protected");
    /** secret_ref must name a variable of the power family, so a target cannot send e.g. DATABASE_PASSWORD to a device */
    private static final Pattern SECRET_REF = Pattern.compile("POWER_[A-Z0-9_]{1,120}");

    private final ObjectMapper mapper;
    private final PowerDrivers drivers;
    private final Secrets secrets;

    /**
     * @param mapper  the service's JSON mapper
     * @param drivers the driver catalogue
     * @param secrets where {@code secret_ref} values are looked up (environment or {@code NAME_FILE})
     */
    public PowerTargets(ObjectMapper mapper, PowerDrivers drivers, Secrets secrets) {
        this.mapper = mapper;
        this.drivers = drivers;
        this.secrets = secrets;
    }

    /**
     * @param body       request body
     * @param clientUuid the client
     * @param actor      who sets it (the authenticated principal, or {@code api})
     * @return named parameters of {@code power-target-upsert.sql}: {@code clientUuid}, {@code driver},
     *         {@code params} (JSON text), {@code secret_ref}, {@code protected}, {@code outlet_key},
     *         {@code actor}
     * @throws ApiException 400 {@code invalid_body}, {@code unknown_driver}, {@code invalid_driver},
     *                      {@code invalid_params}, {@code invalid_secret_ref}
     */
    public Map<String, Object> parse(String body, UUID clientUuid, String actor) {
        JsonNode json = object(body, "{\"driver\": \"shelly-gen2\", \"params\": {\"host\": \"10.20.0.31\"}, \"secret_ref\": \"POWER_LOBBY_PLUG\"}");
        var names = json.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new ApiException(400, "invalid_body", "unknown field '" + Text.abbreviate(name) + "'; allowed: " + FIELDS.stream().sorted().toList());
            }
        }
        JsonNode driverNode = json.get("driver");
        if (driverNode == null || !driverNode.isTextual()) {
            throw new ApiException(400, "unknown_driver", "\"driver\" is required: the name of a power driver, e.g. shelly-gen2");
        }
        PowerDriver driver = drivers.driver(driverNode.asText());
        String secretRef = null;
        JsonNode ref = json.get("secret_ref");
        if (ref != null && !ref.isNull()) {
            if (!ref.isTextual() || !SECRET_REF.matcher(ref.asText()).matches()) {
                throw new ApiException(400, "invalid_secret_ref",
                        "secret_ref must be the name of an environment variable starting with POWER_ (upper-case letters, digits, '_'), e.g. POWER_LOBBY_PLUG");
            }
            secretRef = ref.asText();
        }
        boolean isProtected = false;
        JsonNode prot = json.get("protected");
        if (prot != null && !prot.isNull()) {
            if (!prot.isBoolean()) {
                throw new ApiException(400, "invalid_body", "protected must be true or false");
            }
            isProtected = prot.asBoolean();
        }
        Map<String, Object> params = drivers.validate(driver, json.get("params"), secretRef);
        if (secretRef != null && secrets.get(secretRef) == null) {
            throw new ApiException(400, "invalid_secret_ref", "secret_ref " + secretRef + " is not set in the service's environment (neither "
                    + secretRef + " nor " + secretRef + "_FILE)");
        }
        Map<String, Object> p = new HashMap<>();
        p.put("clientUuid", clientUuid);
        p.put("driver", driver.name());
        p.put("params", write(params));
        p.put("secret_ref", secretRef);
        p.put("protected", isProtected);
        p.put("outlet_key", drivers.outletKey(driver, params));
        p.put("actor", actor == null || actor.isBlank() ? "anonymous" : actor);
        return p;
    }

    /**
     * @param row        a {@code power_targets} row, or {@code null}
     * @param clientUuid the client asked for
     * @return {@code {"driver", "params", "secret_ref", "protected", "updated_at", "updated_by"}}
     * @throws ApiException 404 {@code power_target_not_found}
     */
    public String view(Map<String, Object> row, UUID clientUuid) {
        if (row == null || row.isEmpty() || row.get("driver") == null) {
            throw notFound(clientUuid);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("driver", row.get("driver"));
        doc.put("params", tree(row.get("params")));
        doc.put("secret_ref", row.get("secret_ref"));
        doc.put("protected", row.get("protected"));
        doc.put("updated_at", time(row.get("updated_at")));
        doc.put("updated_by", row.get("updated_by"));
        return write(doc);
    }

    /**
     * @param row        {@code client_found}, {@code target_found} (and {@code driver}) of the upsert/delete
     * @param clientUuid the client asked for
     * @return the client UUID
     * @throws ApiException 404 {@code client_not_found}, or {@code power_target_not_found} when
     *                      {@code target_found} is 0
     */
    public UUID requireTarget(Map<String, Object> row, UUID clientUuid) {
        if (row == null || ((Number) row.get("client_found")).intValue() == 0) {
            throw ApiException.clientNotFound(clientUuid);
        }
        if (((Number) row.get("target_found")).intValue() == 0) {
            throw notFound(clientUuid);
        }
        return clientUuid;
    }

    /**
     * Checks a power-cycle request against the display and its power target before the command
     * is created.
     *
     * @param row        {@code power-cycle-check.sql}: client_found, driver, outlet_protected,
     *                   liveness_state, silent_for_s
     * @param request    the parsed request ({@code force})
     * @param clientUuid the client
     * @return the request unchanged
     * @throws ApiException 404 {@code client_not_found} / {@code power_target_not_found}; 409
     *                      {@code power_target_protected} when the outlet feeds network gear or the
     *                      controller; 409 {@code client_online} when the display is online and the
     *                      request is not forced
     */
    public Map<String, Object> checkCycle(Map<String, Object> row, Map<String, Object> request, UUID clientUuid) {
        if (row == null || ((Number) row.get("client_found")).intValue() == 0) {
            throw ApiException.clientNotFound(clientUuid);
        }
        if (row.get("driver") == null) {
            throw notFound(clientUuid);
        }
        PowerDriver driver = drivers.driver((String) row.get("driver"));
        if (Boolean.TRUE.equals(row.get("outlet_protected")) && driver.plan() != PowerDriver.Plan.ON_ONLY) {
            throw new ApiException(409, "power_target_protected",
                    "the outlet of this client is protected (it feeds network gear or the controller): the service never switches it off");
        }
        if ("online".equals(row.get("liveness_state")) && !Boolean.TRUE.equals(request.get("force"))) {
            Object silent = row.get("silent_for_s");
            throw new ApiException(409, "client_online", "the display is online (last message " + silent
                    + " s ago); a power cycle cuts its power: send \"force\": true to do it anyway");
        }
        return request;
    }

    private static ApiException notFound(UUID clientUuid) {
        return new ApiException(404, "power_target_not_found", "client " + clientUuid + " has no power target");
    }

    private JsonNode object(String body, String example) {
        JsonNode json;
        try {
            json = body == null || body.isBlank() ? null
                    : mapper.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION).readTree(body);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "invalid_body", "the body is not JSON: " + e.getOriginalMessage());
        }
        if (json == null || !json.isObject()) {
            throw new ApiException(400, "invalid_body", "the body must be a JSON object, e.g. " + example);
        }
        String unstorable = org.infoscreen.fleet.support.Json.unstorable(json);
        if (unstorable != null) {
            throw new ApiException(400, "invalid_body", "strings and keys must not contain " + unstorable);
        }
        return json;
    }

    private JsonNode tree(Object v) {
        try {
            if (v instanceof PGobject pg) {
                return mapper.readTree(pg.getValue());
            }
            return v == null ? mapper.createObjectNode() : mapper.readTree(v.toString());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored params are not JSON", e);
        }
    }

    private static Object time(Object v) {
        if (v instanceof Timestamp ts) {
            return ts.toInstant().toString();
        }
        if (v instanceof OffsetDateTime odt) {
            return odt.toInstant().toString();
        }
        return v;
    }

    private String write(Object doc) {
        try {
            return mapper.writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
