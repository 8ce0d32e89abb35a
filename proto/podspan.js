/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-mixed-operators, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars, default-case, jsdoc/require-param*/
import $protobuf from "protobufjs/minimal.js";

// Common aliases
const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;
const $Object = $util.global.Object, $undefined = $util.global.undefined, $Error = $util.global.Error, $RangeError = $util.global.RangeError;

// Exported root namespace
const $root = $protobuf.roots["default"] || ($protobuf.roots["default"] = {});

export const podspan = $root.podspan = (() => {

    /**
     * Namespace podspan.
     * @exports podspan
     * @namespace
     */
    const podspan = {};

    podspan.Envelope = (function() {

        /**
         * Properties of an Envelope.
         * @typedef {Object} podspan.Envelope.$Properties
         * @property {podspan.Hello.$Properties|null} [hello] Envelope hello
         * @property {podspan.Welcome.$Properties|null} [welcome] Envelope welcome
         * @property {podspan.Batch.$Properties|null} [batch] Envelope batch
         * @property {podspan.Ack.$Properties|null} [ack] Envelope ack
         * @property {podspan.Error.$Properties|null} [error] Envelope error
         * @property {"hello"|"welcome"|"batch"|"ack"|"error"} [msg] Envelope msg
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of an Envelope.
         * @memberof podspan
         * @interface IEnvelope
         * @augments podspan.Envelope.$Properties
         * @deprecated Use podspan.Envelope.$Properties instead.
         */

        /**
         * Narrowed shape of an Envelope.
         * @typedef {{
         *   hello?: podspan.Hello.$Shape|null;
         *   welcome?: podspan.Welcome.$Shape|null;
         *   batch?: podspan.Batch.$Shape|null;
         *   ack?: podspan.Ack.$Shape|null;
         *   error?: podspan.Error.$Shape|null;
         *   $unknowns?: Array.<Uint8Array>;
         * } & (
         *   ({ msg?: undefined; hello?: null; welcome?: null; batch?: null; ack?: null; error?: null }|{ msg?: "hello"; hello: podspan.Hello.$Shape; welcome?: null; batch?: null; ack?: null; error?: null }|{ msg?: "welcome"; hello?: null; welcome: podspan.Welcome.$Shape; batch?: null; ack?: null; error?: null }|{ msg?: "batch"; hello?: null; welcome?: null; batch: podspan.Batch.$Shape; ack?: null; error?: null }|{ msg?: "ack"; hello?: null; welcome?: null; batch?: null; ack: podspan.Ack.$Shape; error?: null }|{ msg?: "error"; hello?: null; welcome?: null; batch?: null; ack?: null; error: podspan.Error.$Shape })
         * )} podspan.Envelope.$Shape
         */

        /**
         * Constructs a new Envelope.
         * @memberof podspan
         * @classdesc Represents an Envelope.
         * @constructor
         * @param {podspan.Envelope.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Envelope = function (properties) {
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Envelope hello.
         * @member {podspan.Hello.$Properties|null|undefined} hello
         * @memberof podspan.Envelope
         * @instance
         */
        Envelope.prototype.hello = null;

        /**
         * Envelope welcome.
         * @member {podspan.Welcome.$Properties|null|undefined} welcome
         * @memberof podspan.Envelope
         * @instance
         */
        Envelope.prototype.welcome = null;

        /**
         * Envelope batch.
         * @member {podspan.Batch.$Properties|null|undefined} batch
         * @memberof podspan.Envelope
         * @instance
         */
        Envelope.prototype.batch = null;

        /**
         * Envelope ack.
         * @member {podspan.Ack.$Properties|null|undefined} ack
         * @memberof podspan.Envelope
         * @instance
         */
        Envelope.prototype.ack = null;

        /**
         * Envelope error.
         * @member {podspan.Error.$Properties|null|undefined} error
         * @memberof podspan.Envelope
         * @instance
         */
        Envelope.prototype.error = null;

        // OneOf field names bound to virtual getters and setters
        let $oneOfFields;

        /**
         * Envelope msg.
         * @member {"hello"|"welcome"|"batch"|"ack"|"error"|undefined} msg
         * @memberof podspan.Envelope
         * @instance
         */
        $Object.defineProperty(Envelope.prototype, "msg", {
            get: $util.oneOfGetter($oneOfFields = ["hello", "welcome", "batch", "ack", "error"]),
            set: $util.oneOfSetter($oneOfFields)
        });

        /**
         * Creates a new Envelope instance using the specified properties.
         * @function create
         * @memberof podspan.Envelope
         * @static
         * @param {podspan.Envelope.$Properties=} [properties] Properties to set
         * @returns {podspan.Envelope} Envelope instance
         * @type {{
         *   (properties: podspan.Envelope.$Shape): podspan.Envelope & podspan.Envelope.$Shape;
         *   (properties?: podspan.Envelope.$Properties): podspan.Envelope;
         * }}
         */
        Envelope.create = function(properties) {
            return new Envelope(properties);
        };

        /**
         * Encodes the specified Envelope message. Does not implicitly {@link podspan.Envelope.verify|verify} messages.
         * @function encode
         * @memberof podspan.Envelope
         * @static
         * @param {podspan.Envelope.$Properties} message Envelope message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Envelope.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.hello != null && $Object.hasOwnProperty.call(message, "hello"))
                $root.podspan.Hello.encode(message.hello, writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
            if (message.welcome != null && $Object.hasOwnProperty.call(message, "welcome"))
                $root.podspan.Welcome.encode(message.welcome, writer.uint32(/* id 2, wireType 2 =*/18).fork(), _depth + 1).ldelim();
            if (message.batch != null && $Object.hasOwnProperty.call(message, "batch"))
                $root.podspan.Batch.encode(message.batch, writer.uint32(/* id 3, wireType 2 =*/26).fork(), _depth + 1).ldelim();
            if (message.ack != null && $Object.hasOwnProperty.call(message, "ack"))
                $root.podspan.Ack.encode(message.ack, writer.uint32(/* id 4, wireType 2 =*/34).fork(), _depth + 1).ldelim();
            if (message.error != null && $Object.hasOwnProperty.call(message, "error"))
                $root.podspan.Error.encode(message.error, writer.uint32(/* id 5, wireType 2 =*/42).fork(), _depth + 1).ldelim();
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes an Envelope message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Envelope
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Envelope & podspan.Envelope.$Shape} Envelope
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Envelope.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Envelope();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 2)
                            break;
                        message.hello = $root.podspan.Hello.decode(reader, reader.size(), $undefined, _depth + 1, message.hello);
                        message.msg = "hello";
                        continue;
                    }
                case 2: {
                        if (wireType !== 2)
                            break;
                        message.welcome = $root.podspan.Welcome.decode(reader, reader.size(), $undefined, _depth + 1, message.welcome);
                        message.msg = "welcome";
                        continue;
                    }
                case 3: {
                        if (wireType !== 2)
                            break;
                        message.batch = $root.podspan.Batch.decode(reader, reader.size(), $undefined, _depth + 1, message.batch);
                        message.msg = "batch";
                        continue;
                    }
                case 4: {
                        if (wireType !== 2)
                            break;
                        message.ack = $root.podspan.Ack.decode(reader, reader.size(), $undefined, _depth + 1, message.ack);
                        message.msg = "ack";
                        continue;
                    }
                case 5: {
                        if (wireType !== 2)
                            break;
                        message.error = $root.podspan.Error.decode(reader, reader.size(), $undefined, _depth + 1, message.error);
                        message.msg = "error";
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Envelope;
    })();

    podspan.Hello = (function() {

        /**
         * Properties of a Hello.
         * @typedef {Object} podspan.Hello.$Properties
         * @property {number|null} [version] Hello version
         * @property {string|null} [agent] Hello agent
         * @property {string|null} [node] Hello node
         * @property {string|null} [session] Hello session
         * @property {number|Long|null} [resumeSeq] Hello resumeSeq
         * @property {string|null} [software] Hello software
         * @property {Array.<podspan.Interface.$Properties>|null} [interfaces] Hello interfaces
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of a Hello.
         * @memberof podspan
         * @interface IHello
         * @augments podspan.Hello.$Properties
         * @deprecated Use podspan.Hello.$Properties instead.
         */

        /**
         * Shape of a Hello.
         * @typedef {podspan.Hello.$Properties} podspan.Hello.$Shape
         */

        /**
         * Constructs a new Hello.
         * @memberof podspan
         * @classdesc Represents a Hello.
         * @constructor
         * @param {podspan.Hello.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Hello = function (properties) {
            this.interfaces = [];
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Hello version.
         * @member {number} version
         * @memberof podspan.Hello
         * @instance
         */
        Hello.prototype.version = 0;

        /**
         * Hello agent.
         * @member {string} agent
         * @memberof podspan.Hello
         * @instance
         */
        Hello.prototype.agent = "";

        /**
         * Hello node.
         * @member {string} node
         * @memberof podspan.Hello
         * @instance
         */
        Hello.prototype.node = "";

        /**
         * Hello session.
         * @member {string} session
         * @memberof podspan.Hello
         * @instance
         */
        Hello.prototype.session = "";

        /**
         * Hello resumeSeq.
         * @member {number|Long} resumeSeq
         * @memberof podspan.Hello
         * @instance
         */
        Hello.prototype.resumeSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * Hello software.
         * @member {string} software
         * @memberof podspan.Hello
         * @instance
         */
        Hello.prototype.software = "";

        /**
         * Hello interfaces.
         * @member {Array.<podspan.Interface.$Properties>} interfaces
         * @memberof podspan.Hello
         * @instance
         */
        Hello.prototype.interfaces = $util.emptyArray;

        /**
         * Creates a new Hello instance using the specified properties.
         * @function create
         * @memberof podspan.Hello
         * @static
         * @param {podspan.Hello.$Properties=} [properties] Properties to set
         * @returns {podspan.Hello} Hello instance
         * @type {{
         *   (properties: podspan.Hello.$Shape): podspan.Hello & podspan.Hello.$Shape;
         *   (properties?: podspan.Hello.$Properties): podspan.Hello;
         * }}
         */
        Hello.create = function(properties) {
            return new Hello(properties);
        };

        /**
         * Encodes the specified Hello message. Does not implicitly {@link podspan.Hello.verify|verify} messages.
         * @function encode
         * @memberof podspan.Hello
         * @static
         * @param {podspan.Hello.$Properties} message Hello message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Hello.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.version != null && $Object.hasOwnProperty.call(message, "version") && message.version !== 0)
                writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.version);
            if (message.agent != null && $Object.hasOwnProperty.call(message, "agent") && message.agent !== "")
                writer.uint32(/* id 2, wireType 2 =*/18).string(message.agent);
            if (message.node != null && $Object.hasOwnProperty.call(message, "node") && message.node !== "")
                writer.uint32(/* id 3, wireType 2 =*/26).string(message.node);
            if (message.session != null && $Object.hasOwnProperty.call(message, "session") && message.session !== "")
                writer.uint32(/* id 4, wireType 2 =*/34).string(message.session);
            if (message.resumeSeq != null && $Object.hasOwnProperty.call(message, "resumeSeq") && (typeof message.resumeSeq === "object" ? message.resumeSeq.low || message.resumeSeq.high : message.resumeSeq !== 0))
                writer.uint32(/* id 5, wireType 0 =*/40).uint64(message.resumeSeq);
            if (message.software != null && $Object.hasOwnProperty.call(message, "software") && message.software !== "")
                writer.uint32(/* id 6, wireType 2 =*/50).string(message.software);
            if (message.interfaces != null && message.interfaces.length)
                for (let i = 0; i < message.interfaces.length; ++i)
                    $root.podspan.Interface.encode(message.interfaces[i], writer.uint32(/* id 7, wireType 2 =*/58).fork(), _depth + 1).ldelim();
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes a Hello message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Hello
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Hello & podspan.Hello.$Shape} Hello
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Hello.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Hello();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.version = value;
                        else
                            delete message.version;
                        continue;
                    }
                case 2: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.agent = value;
                        else
                            delete message.agent;
                        continue;
                    }
                case 3: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.node = value;
                        else
                            delete message.node;
                        continue;
                    }
                case 4: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.session = value;
                        else
                            delete message.session;
                        continue;
                    }
                case 5: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.resumeSeq = value;
                        else
                            delete message.resumeSeq;
                        continue;
                    }
                case 6: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.software = value;
                        else
                            delete message.software;
                        continue;
                    }
                case 7: {
                        if (wireType !== 2)
                            break;
                        if (!(message.interfaces && message.interfaces.length))
                            message.interfaces = [];
                        message.interfaces.push($root.podspan.Interface.decode(reader, reader.size(), $undefined, _depth + 1));
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Hello;
    })();

    podspan.Welcome = (function() {

        /**
         * Properties of a Welcome.
         * @typedef {Object} podspan.Welcome.$Properties
         * @property {number|null} [version] Welcome version
         * @property {number|Long|null} [committedSeq] Welcome committedSeq
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of a Welcome.
         * @memberof podspan
         * @interface IWelcome
         * @augments podspan.Welcome.$Properties
         * @deprecated Use podspan.Welcome.$Properties instead.
         */

        /**
         * Shape of a Welcome.
         * @typedef {podspan.Welcome.$Properties} podspan.Welcome.$Shape
         */

        /**
         * Constructs a new Welcome.
         * @memberof podspan
         * @classdesc Represents a Welcome.
         * @constructor
         * @param {podspan.Welcome.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Welcome = function (properties) {
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Welcome version.
         * @member {number} version
         * @memberof podspan.Welcome
         * @instance
         */
        Welcome.prototype.version = 0;

        /**
         * Welcome committedSeq.
         * @member {number|Long} committedSeq
         * @memberof podspan.Welcome
         * @instance
         */
        Welcome.prototype.committedSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * Creates a new Welcome instance using the specified properties.
         * @function create
         * @memberof podspan.Welcome
         * @static
         * @param {podspan.Welcome.$Properties=} [properties] Properties to set
         * @returns {podspan.Welcome} Welcome instance
         * @type {{
         *   (properties: podspan.Welcome.$Shape): podspan.Welcome & podspan.Welcome.$Shape;
         *   (properties?: podspan.Welcome.$Properties): podspan.Welcome;
         * }}
         */
        Welcome.create = function(properties) {
            return new Welcome(properties);
        };

        /**
         * Encodes the specified Welcome message. Does not implicitly {@link podspan.Welcome.verify|verify} messages.
         * @function encode
         * @memberof podspan.Welcome
         * @static
         * @param {podspan.Welcome.$Properties} message Welcome message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Welcome.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.version != null && $Object.hasOwnProperty.call(message, "version") && message.version !== 0)
                writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.version);
            if (message.committedSeq != null && $Object.hasOwnProperty.call(message, "committedSeq") && (typeof message.committedSeq === "object" ? message.committedSeq.low || message.committedSeq.high : message.committedSeq !== 0))
                writer.uint32(/* id 2, wireType 0 =*/16).uint64(message.committedSeq);
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes a Welcome message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Welcome
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Welcome & podspan.Welcome.$Shape} Welcome
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Welcome.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Welcome();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.version = value;
                        else
                            delete message.version;
                        continue;
                    }
                case 2: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.committedSeq = value;
                        else
                            delete message.committedSeq;
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Welcome;
    })();

    podspan.Interface = (function() {

        /**
         * Properties of an Interface.
         * @typedef {Object} podspan.Interface.$Properties
         * @property {number|null} [id] Interface id
         * @property {string|null} [name] Interface name
         * @property {string|null} [podIp] Interface podIp
         * @property {string|null} [podName] Interface podName
         * @property {string|null} [podNamespace] Interface podNamespace
         * @property {number|null} [linkType] Interface linkType
         * @property {number|null} [snapLen] Interface snapLen
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of an Interface.
         * @memberof podspan
         * @interface IInterface
         * @augments podspan.Interface.$Properties
         * @deprecated Use podspan.Interface.$Properties instead.
         */

        /**
         * Shape of an Interface.
         * @typedef {podspan.Interface.$Properties} podspan.Interface.$Shape
         */

        /**
         * Constructs a new Interface.
         * @memberof podspan
         * @classdesc Represents an Interface.
         * @constructor
         * @param {podspan.Interface.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Interface = function (properties) {
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Interface id.
         * @member {number} id
         * @memberof podspan.Interface
         * @instance
         */
        Interface.prototype.id = 0;

        /**
         * Interface name.
         * @member {string} name
         * @memberof podspan.Interface
         * @instance
         */
        Interface.prototype.name = "";

        /**
         * Interface podIp.
         * @member {string} podIp
         * @memberof podspan.Interface
         * @instance
         */
        Interface.prototype.podIp = "";

        /**
         * Interface podName.
         * @member {string} podName
         * @memberof podspan.Interface
         * @instance
         */
        Interface.prototype.podName = "";

        /**
         * Interface podNamespace.
         * @member {string} podNamespace
         * @memberof podspan.Interface
         * @instance
         */
        Interface.prototype.podNamespace = "";

        /**
         * Interface linkType.
         * @member {number} linkType
         * @memberof podspan.Interface
         * @instance
         */
        Interface.prototype.linkType = 0;

        /**
         * Interface snapLen.
         * @member {number} snapLen
         * @memberof podspan.Interface
         * @instance
         */
        Interface.prototype.snapLen = 0;

        /**
         * Creates a new Interface instance using the specified properties.
         * @function create
         * @memberof podspan.Interface
         * @static
         * @param {podspan.Interface.$Properties=} [properties] Properties to set
         * @returns {podspan.Interface} Interface instance
         * @type {{
         *   (properties: podspan.Interface.$Shape): podspan.Interface & podspan.Interface.$Shape;
         *   (properties?: podspan.Interface.$Properties): podspan.Interface;
         * }}
         */
        Interface.create = function(properties) {
            return new Interface(properties);
        };

        /**
         * Encodes the specified Interface message. Does not implicitly {@link podspan.Interface.verify|verify} messages.
         * @function encode
         * @memberof podspan.Interface
         * @static
         * @param {podspan.Interface.$Properties} message Interface message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Interface.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id !== 0)
                writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.id);
            if (message.name != null && $Object.hasOwnProperty.call(message, "name") && message.name !== "")
                writer.uint32(/* id 2, wireType 2 =*/18).string(message.name);
            if (message.podIp != null && $Object.hasOwnProperty.call(message, "podIp") && message.podIp !== "")
                writer.uint32(/* id 3, wireType 2 =*/26).string(message.podIp);
            if (message.podName != null && $Object.hasOwnProperty.call(message, "podName") && message.podName !== "")
                writer.uint32(/* id 4, wireType 2 =*/34).string(message.podName);
            if (message.podNamespace != null && $Object.hasOwnProperty.call(message, "podNamespace") && message.podNamespace !== "")
                writer.uint32(/* id 5, wireType 2 =*/42).string(message.podNamespace);
            if (message.linkType != null && $Object.hasOwnProperty.call(message, "linkType") && message.linkType !== 0)
                writer.uint32(/* id 6, wireType 0 =*/48).uint32(message.linkType);
            if (message.snapLen != null && $Object.hasOwnProperty.call(message, "snapLen") && message.snapLen !== 0)
                writer.uint32(/* id 7, wireType 0 =*/56).uint32(message.snapLen);
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes an Interface message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Interface
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Interface & podspan.Interface.$Shape} Interface
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Interface.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Interface();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.id = value;
                        else
                            delete message.id;
                        continue;
                    }
                case 2: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.name = value;
                        else
                            delete message.name;
                        continue;
                    }
                case 3: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.podIp = value;
                        else
                            delete message.podIp;
                        continue;
                    }
                case 4: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.podName = value;
                        else
                            delete message.podName;
                        continue;
                    }
                case 5: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.podNamespace = value;
                        else
                            delete message.podNamespace;
                        continue;
                    }
                case 6: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.linkType = value;
                        else
                            delete message.linkType;
                        continue;
                    }
                case 7: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.snapLen = value;
                        else
                            delete message.snapLen;
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Interface;
    })();

    podspan.Frame = (function() {

        /**
         * Properties of a Frame.
         * @typedef {Object} podspan.Frame.$Properties
         * @property {number|null} [iface] Frame iface
         * @property {number|null} [tsSec] Frame tsSec
         * @property {number|null} [tsNsec] Frame tsNsec
         * @property {number|null} [capLen] Frame capLen
         * @property {number|null} [wireLen] Frame wireLen
         * @property {Uint8Array|null} [data] Frame data
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of a Frame.
         * @memberof podspan
         * @interface IFrame
         * @augments podspan.Frame.$Properties
         * @deprecated Use podspan.Frame.$Properties instead.
         */

        /**
         * Shape of a Frame.
         * @typedef {podspan.Frame.$Properties} podspan.Frame.$Shape
         */

        /**
         * Constructs a new Frame.
         * @memberof podspan
         * @classdesc Represents a Frame.
         * @constructor
         * @param {podspan.Frame.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Frame = function (properties) {
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Frame iface.
         * @member {number} iface
         * @memberof podspan.Frame
         * @instance
         */
        Frame.prototype.iface = 0;

        /**
         * Frame tsSec.
         * @member {number} tsSec
         * @memberof podspan.Frame
         * @instance
         */
        Frame.prototype.tsSec = 0;

        /**
         * Frame tsNsec.
         * @member {number} tsNsec
         * @memberof podspan.Frame
         * @instance
         */
        Frame.prototype.tsNsec = 0;

        /**
         * Frame capLen.
         * @member {number} capLen
         * @memberof podspan.Frame
         * @instance
         */
        Frame.prototype.capLen = 0;

        /**
         * Frame wireLen.
         * @member {number} wireLen
         * @memberof podspan.Frame
         * @instance
         */
        Frame.prototype.wireLen = 0;

        /**
         * Frame data.
         * @member {Uint8Array} data
         * @memberof podspan.Frame
         * @instance
         */
        Frame.prototype.data = $util.newBuffer([]);

        /**
         * Creates a new Frame instance using the specified properties.
         * @function create
         * @memberof podspan.Frame
         * @static
         * @param {podspan.Frame.$Properties=} [properties] Properties to set
         * @returns {podspan.Frame} Frame instance
         * @type {{
         *   (properties: podspan.Frame.$Shape): podspan.Frame & podspan.Frame.$Shape;
         *   (properties?: podspan.Frame.$Properties): podspan.Frame;
         * }}
         */
        Frame.create = function(properties) {
            return new Frame(properties);
        };

        /**
         * Encodes the specified Frame message. Does not implicitly {@link podspan.Frame.verify|verify} messages.
         * @function encode
         * @memberof podspan.Frame
         * @static
         * @param {podspan.Frame.$Properties} message Frame message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Frame.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.iface != null && $Object.hasOwnProperty.call(message, "iface") && message.iface !== 0)
                writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.iface);
            if (message.tsSec != null && $Object.hasOwnProperty.call(message, "tsSec") && message.tsSec !== 0)
                writer.uint32(/* id 2, wireType 0 =*/16).uint32(message.tsSec);
            if (message.tsNsec != null && $Object.hasOwnProperty.call(message, "tsNsec") && message.tsNsec !== 0)
                writer.uint32(/* id 3, wireType 0 =*/24).uint32(message.tsNsec);
            if (message.capLen != null && $Object.hasOwnProperty.call(message, "capLen") && message.capLen !== 0)
                writer.uint32(/* id 4, wireType 0 =*/32).uint32(message.capLen);
            if (message.wireLen != null && $Object.hasOwnProperty.call(message, "wireLen") && message.wireLen !== 0)
                writer.uint32(/* id 5, wireType 0 =*/40).uint32(message.wireLen);
            if (message.data != null && $Object.hasOwnProperty.call(message, "data") && message.data.length)
                writer.uint32(/* id 6, wireType 2 =*/50).bytes(message.data);
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes a Frame message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Frame
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Frame & podspan.Frame.$Shape} Frame
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Frame.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Frame();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.iface = value;
                        else
                            delete message.iface;
                        continue;
                    }
                case 2: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.tsSec = value;
                        else
                            delete message.tsSec;
                        continue;
                    }
                case 3: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.tsNsec = value;
                        else
                            delete message.tsNsec;
                        continue;
                    }
                case 4: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.capLen = value;
                        else
                            delete message.capLen;
                        continue;
                    }
                case 5: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.wireLen = value;
                        else
                            delete message.wireLen;
                        continue;
                    }
                case 6: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.bytes()).length)
                            message.data = value;
                        else
                            delete message.data;
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Frame;
    })();

    podspan.StageCounter = (function() {

        /**
         * Properties of a StageCounter.
         * @typedef {Object} podspan.StageCounter.$Properties
         * @property {string|null} [stage] StageCounter stage
         * @property {number|Long|null} [received] StageCounter received
         * @property {number|Long|null} [delivered] StageCounter delivered
         * @property {Object.<string,number|Long>|null} [dropped] StageCounter dropped
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of a StageCounter.
         * @memberof podspan
         * @interface IStageCounter
         * @augments podspan.StageCounter.$Properties
         * @deprecated Use podspan.StageCounter.$Properties instead.
         */

        /**
         * Shape of a StageCounter.
         * @typedef {podspan.StageCounter.$Properties} podspan.StageCounter.$Shape
         */

        /**
         * Constructs a new StageCounter.
         * @memberof podspan
         * @classdesc Represents a StageCounter.
         * @constructor
         * @param {podspan.StageCounter.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const StageCounter = function (properties) {
            this.dropped = {};
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * StageCounter stage.
         * @member {string} stage
         * @memberof podspan.StageCounter
         * @instance
         */
        StageCounter.prototype.stage = "";

        /**
         * StageCounter received.
         * @member {number|Long} received
         * @memberof podspan.StageCounter
         * @instance
         */
        StageCounter.prototype.received = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * StageCounter delivered.
         * @member {number|Long} delivered
         * @memberof podspan.StageCounter
         * @instance
         */
        StageCounter.prototype.delivered = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * StageCounter dropped.
         * @member {Object.<string,number|Long>} dropped
         * @memberof podspan.StageCounter
         * @instance
         */
        StageCounter.prototype.dropped = $util.emptyObject;

        /**
         * Creates a new StageCounter instance using the specified properties.
         * @function create
         * @memberof podspan.StageCounter
         * @static
         * @param {podspan.StageCounter.$Properties=} [properties] Properties to set
         * @returns {podspan.StageCounter} StageCounter instance
         * @type {{
         *   (properties: podspan.StageCounter.$Shape): podspan.StageCounter & podspan.StageCounter.$Shape;
         *   (properties?: podspan.StageCounter.$Properties): podspan.StageCounter;
         * }}
         */
        StageCounter.create = function(properties) {
            return new StageCounter(properties);
        };

        /**
         * Encodes the specified StageCounter message. Does not implicitly {@link podspan.StageCounter.verify|verify} messages.
         * @function encode
         * @memberof podspan.StageCounter
         * @static
         * @param {podspan.StageCounter.$Properties} message StageCounter message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        StageCounter.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.stage != null && $Object.hasOwnProperty.call(message, "stage") && message.stage !== "")
                writer.uint32(/* id 1, wireType 2 =*/10).string(message.stage);
            if (message.received != null && $Object.hasOwnProperty.call(message, "received") && (typeof message.received === "object" ? message.received.low || message.received.high : message.received !== 0))
                writer.uint32(/* id 2, wireType 0 =*/16).uint64(message.received);
            if (message.delivered != null && $Object.hasOwnProperty.call(message, "delivered") && (typeof message.delivered === "object" ? message.delivered.low || message.delivered.high : message.delivered !== 0))
                writer.uint32(/* id 3, wireType 0 =*/24).uint64(message.delivered);
            if (message.dropped != null && $Object.hasOwnProperty.call(message, "dropped"))
                for (let keys = $Object.keys(message.dropped), i = 0; i < keys.length; ++i)
                    writer.uint32(/* id 4, wireType 2 =*/34).fork().uint32(/* id 1, wireType 2 =*/10).string(keys[i]).uint32(/* id 2, wireType 0 =*/16).uint64(message.dropped[keys[i]]).ldelim();
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes a StageCounter message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.StageCounter
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.StageCounter & podspan.StageCounter.$Shape} StageCounter
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        StageCounter.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, key, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.StageCounter();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.stage = value;
                        else
                            delete message.stage;
                        continue;
                    }
                case 2: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.received = value;
                        else
                            delete message.received;
                        continue;
                    }
                case 3: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.delivered = value;
                        else
                            delete message.delivered;
                        continue;
                    }
                case 4: {
                        if (wireType !== 2)
                            break;
                        if (message.dropped === $util.emptyObject)
                            message.dropped = {};
                        let end2 = reader.size() + reader.pos;
                        if (end2 > reader.len)
                            throw $RangeError("index out of range");
                        reader.len = end2;
                        key = "";
                        value = $util.Long ? $util.Long.fromNumber(0, true) : 0;
                        while (reader.pos < end2) {
                            let tag2 = reader.tag();
                            wireType = tag2 & 7;
                            switch (tag2 >>>= 3) {
                            case 1:
                                if (wireType !== 2)
                                    break;
                                key = reader.stringVerify();
                                continue;
                            case 2:
                                if (wireType !== 0)
                                    break;
                                value = reader.uint64();
                                continue;
                            }
                            reader.skipType(wireType, _depth, tag2);
                        }
                        if (reader.pos !== end2)
                            throw $RangeError("index out of range");
                        reader.len = end;
                        if (key === "__proto__")
                            $util.makeProp(message.dropped, key);
                        message.dropped[key] = value;
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return StageCounter;
    })();

    podspan.Batch = (function() {

        /**
         * Properties of a Batch.
         * @typedef {Object} podspan.Batch.$Properties
         * @property {number|Long|null} [seq] Batch seq
         * @property {Array.<podspan.Interface.$Properties>|null} [interfaces] Batch interfaces
         * @property {Array.<podspan.Frame.$Properties>|null} [frames] Batch frames
         * @property {Array.<podspan.StageCounter.$Properties>|null} [counters] Batch counters
         * @property {Array.<podspan.StreamEvent.$Properties>|null} [streams] Batch streams
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of a Batch.
         * @memberof podspan
         * @interface IBatch
         * @augments podspan.Batch.$Properties
         * @deprecated Use podspan.Batch.$Properties instead.
         */

        /**
         * Shape of a Batch.
         * @typedef {podspan.Batch.$Properties} podspan.Batch.$Shape
         */

        /**
         * Constructs a new Batch.
         * @memberof podspan
         * @classdesc Represents a Batch.
         * @constructor
         * @param {podspan.Batch.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Batch = function (properties) {
            this.interfaces = [];
            this.frames = [];
            this.counters = [];
            this.streams = [];
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Batch seq.
         * @member {number|Long} seq
         * @memberof podspan.Batch
         * @instance
         */
        Batch.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * Batch interfaces.
         * @member {Array.<podspan.Interface.$Properties>} interfaces
         * @memberof podspan.Batch
         * @instance
         */
        Batch.prototype.interfaces = $util.emptyArray;

        /**
         * Batch frames.
         * @member {Array.<podspan.Frame.$Properties>} frames
         * @memberof podspan.Batch
         * @instance
         */
        Batch.prototype.frames = $util.emptyArray;

        /**
         * Batch counters.
         * @member {Array.<podspan.StageCounter.$Properties>} counters
         * @memberof podspan.Batch
         * @instance
         */
        Batch.prototype.counters = $util.emptyArray;

        /**
         * Batch streams.
         * @member {Array.<podspan.StreamEvent.$Properties>} streams
         * @memberof podspan.Batch
         * @instance
         */
        Batch.prototype.streams = $util.emptyArray;

        /**
         * Creates a new Batch instance using the specified properties.
         * @function create
         * @memberof podspan.Batch
         * @static
         * @param {podspan.Batch.$Properties=} [properties] Properties to set
         * @returns {podspan.Batch} Batch instance
         * @type {{
         *   (properties: podspan.Batch.$Shape): podspan.Batch & podspan.Batch.$Shape;
         *   (properties?: podspan.Batch.$Properties): podspan.Batch;
         * }}
         */
        Batch.create = function(properties) {
            return new Batch(properties);
        };

        /**
         * Encodes the specified Batch message. Does not implicitly {@link podspan.Batch.verify|verify} messages.
         * @function encode
         * @memberof podspan.Batch
         * @static
         * @param {podspan.Batch.$Properties} message Batch message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Batch.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                writer.uint32(/* id 1, wireType 0 =*/8).uint64(message.seq);
            if (message.interfaces != null && message.interfaces.length)
                for (let i = 0; i < message.interfaces.length; ++i)
                    $root.podspan.Interface.encode(message.interfaces[i], writer.uint32(/* id 2, wireType 2 =*/18).fork(), _depth + 1).ldelim();
            if (message.frames != null && message.frames.length)
                for (let i = 0; i < message.frames.length; ++i)
                    $root.podspan.Frame.encode(message.frames[i], writer.uint32(/* id 3, wireType 2 =*/26).fork(), _depth + 1).ldelim();
            if (message.counters != null && message.counters.length)
                for (let i = 0; i < message.counters.length; ++i)
                    $root.podspan.StageCounter.encode(message.counters[i], writer.uint32(/* id 4, wireType 2 =*/34).fork(), _depth + 1).ldelim();
            if (message.streams != null && message.streams.length)
                for (let i = 0; i < message.streams.length; ++i)
                    $root.podspan.StreamEvent.encode(message.streams[i], writer.uint32(/* id 5, wireType 2 =*/42).fork(), _depth + 1).ldelim();
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes a Batch message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Batch
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Batch & podspan.Batch.$Shape} Batch
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Batch.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Batch();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.seq = value;
                        else
                            delete message.seq;
                        continue;
                    }
                case 2: {
                        if (wireType !== 2)
                            break;
                        if (!(message.interfaces && message.interfaces.length))
                            message.interfaces = [];
                        message.interfaces.push($root.podspan.Interface.decode(reader, reader.size(), $undefined, _depth + 1));
                        continue;
                    }
                case 3: {
                        if (wireType !== 2)
                            break;
                        if (!(message.frames && message.frames.length))
                            message.frames = [];
                        message.frames.push($root.podspan.Frame.decode(reader, reader.size(), $undefined, _depth + 1));
                        continue;
                    }
                case 4: {
                        if (wireType !== 2)
                            break;
                        if (!(message.counters && message.counters.length))
                            message.counters = [];
                        message.counters.push($root.podspan.StageCounter.decode(reader, reader.size(), $undefined, _depth + 1));
                        continue;
                    }
                case 5: {
                        if (wireType !== 2)
                            break;
                        if (!(message.streams && message.streams.length))
                            message.streams = [];
                        message.streams.push($root.podspan.StreamEvent.decode(reader, reader.size(), $undefined, _depth + 1));
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Batch;
    })();

    podspan.StreamEvent = (function() {

        /**
         * Properties of a StreamEvent.
         * @typedef {Object} podspan.StreamEvent.$Properties
         * @property {number|Long|null} [conn] StreamEvent conn
         * @property {number|null} [kind] StreamEvent kind
         * @property {number|null} [dir] StreamEvent dir
         * @property {number|Long|null} [offset] StreamEvent offset
         * @property {Uint8Array|null} [data] StreamEvent data
         * @property {number|Long|null} [length] StreamEvent length
         * @property {number|null} [tsSec] StreamEvent tsSec
         * @property {number|null} [tsNsec] StreamEvent tsNsec
         * @property {Uint8Array|null} [clientIp] StreamEvent clientIp
         * @property {number|null} [clientPort] StreamEvent clientPort
         * @property {Uint8Array|null} [serverIp] StreamEvent serverIp
         * @property {number|null} [serverPort] StreamEvent serverPort
         * @property {boolean|null} [midStream] StreamEvent midStream
         * @property {string|null} [reason] StreamEvent reason
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of a StreamEvent.
         * @memberof podspan
         * @interface IStreamEvent
         * @augments podspan.StreamEvent.$Properties
         * @deprecated Use podspan.StreamEvent.$Properties instead.
         */

        /**
         * Shape of a StreamEvent.
         * @typedef {podspan.StreamEvent.$Properties} podspan.StreamEvent.$Shape
         */

        /**
         * Constructs a new StreamEvent.
         * @memberof podspan
         * @classdesc Represents a StreamEvent.
         * @constructor
         * @param {podspan.StreamEvent.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const StreamEvent = function (properties) {
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * StreamEvent conn.
         * @member {number|Long} conn
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.conn = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * StreamEvent kind.
         * @member {number} kind
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.kind = 0;

        /**
         * StreamEvent dir.
         * @member {number} dir
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.dir = 0;

        /**
         * StreamEvent offset.
         * @member {number|Long} offset
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.offset = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * StreamEvent data.
         * @member {Uint8Array} data
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.data = $util.newBuffer([]);

        /**
         * StreamEvent length.
         * @member {number|Long} length
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.length = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * StreamEvent tsSec.
         * @member {number} tsSec
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.tsSec = 0;

        /**
         * StreamEvent tsNsec.
         * @member {number} tsNsec
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.tsNsec = 0;

        /**
         * StreamEvent clientIp.
         * @member {Uint8Array} clientIp
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.clientIp = $util.newBuffer([]);

        /**
         * StreamEvent clientPort.
         * @member {number} clientPort
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.clientPort = 0;

        /**
         * StreamEvent serverIp.
         * @member {Uint8Array} serverIp
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.serverIp = $util.newBuffer([]);

        /**
         * StreamEvent serverPort.
         * @member {number} serverPort
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.serverPort = 0;

        /**
         * StreamEvent midStream.
         * @member {boolean} midStream
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.midStream = false;

        /**
         * StreamEvent reason.
         * @member {string} reason
         * @memberof podspan.StreamEvent
         * @instance
         */
        StreamEvent.prototype.reason = "";

        /**
         * Creates a new StreamEvent instance using the specified properties.
         * @function create
         * @memberof podspan.StreamEvent
         * @static
         * @param {podspan.StreamEvent.$Properties=} [properties] Properties to set
         * @returns {podspan.StreamEvent} StreamEvent instance
         * @type {{
         *   (properties: podspan.StreamEvent.$Shape): podspan.StreamEvent & podspan.StreamEvent.$Shape;
         *   (properties?: podspan.StreamEvent.$Properties): podspan.StreamEvent;
         * }}
         */
        StreamEvent.create = function(properties) {
            return new StreamEvent(properties);
        };

        /**
         * Encodes the specified StreamEvent message. Does not implicitly {@link podspan.StreamEvent.verify|verify} messages.
         * @function encode
         * @memberof podspan.StreamEvent
         * @static
         * @param {podspan.StreamEvent.$Properties} message StreamEvent message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        StreamEvent.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.conn != null && $Object.hasOwnProperty.call(message, "conn") && (typeof message.conn === "object" ? message.conn.low || message.conn.high : message.conn !== 0))
                writer.uint32(/* id 1, wireType 0 =*/8).uint64(message.conn);
            if (message.kind != null && $Object.hasOwnProperty.call(message, "kind") && message.kind !== 0)
                writer.uint32(/* id 2, wireType 0 =*/16).uint32(message.kind);
            if (message.dir != null && $Object.hasOwnProperty.call(message, "dir") && message.dir !== 0)
                writer.uint32(/* id 3, wireType 0 =*/24).uint32(message.dir);
            if (message.offset != null && $Object.hasOwnProperty.call(message, "offset") && (typeof message.offset === "object" ? message.offset.low || message.offset.high : message.offset !== 0))
                writer.uint32(/* id 4, wireType 0 =*/32).uint64(message.offset);
            if (message.data != null && $Object.hasOwnProperty.call(message, "data") && message.data.length)
                writer.uint32(/* id 5, wireType 2 =*/42).bytes(message.data);
            if (message.length != null && $Object.hasOwnProperty.call(message, "length") && (typeof message.length === "object" ? message.length.low || message.length.high : message.length !== 0))
                writer.uint32(/* id 6, wireType 0 =*/48).uint64(message.length);
            if (message.tsSec != null && $Object.hasOwnProperty.call(message, "tsSec") && message.tsSec !== 0)
                writer.uint32(/* id 7, wireType 0 =*/56).uint32(message.tsSec);
            if (message.tsNsec != null && $Object.hasOwnProperty.call(message, "tsNsec") && message.tsNsec !== 0)
                writer.uint32(/* id 8, wireType 0 =*/64).uint32(message.tsNsec);
            if (message.clientIp != null && $Object.hasOwnProperty.call(message, "clientIp") && message.clientIp.length)
                writer.uint32(/* id 9, wireType 2 =*/74).bytes(message.clientIp);
            if (message.clientPort != null && $Object.hasOwnProperty.call(message, "clientPort") && message.clientPort !== 0)
                writer.uint32(/* id 10, wireType 0 =*/80).uint32(message.clientPort);
            if (message.serverIp != null && $Object.hasOwnProperty.call(message, "serverIp") && message.serverIp.length)
                writer.uint32(/* id 11, wireType 2 =*/90).bytes(message.serverIp);
            if (message.serverPort != null && $Object.hasOwnProperty.call(message, "serverPort") && message.serverPort !== 0)
                writer.uint32(/* id 12, wireType 0 =*/96).uint32(message.serverPort);
            if (message.midStream != null && $Object.hasOwnProperty.call(message, "midStream") && message.midStream !== false)
                writer.uint32(/* id 13, wireType 0 =*/104).bool(message.midStream);
            if (message.reason != null && $Object.hasOwnProperty.call(message, "reason") && message.reason !== "")
                writer.uint32(/* id 14, wireType 2 =*/114).string(message.reason);
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes a StreamEvent message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.StreamEvent
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.StreamEvent & podspan.StreamEvent.$Shape} StreamEvent
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        StreamEvent.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.StreamEvent();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.conn = value;
                        else
                            delete message.conn;
                        continue;
                    }
                case 2: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.kind = value;
                        else
                            delete message.kind;
                        continue;
                    }
                case 3: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.dir = value;
                        else
                            delete message.dir;
                        continue;
                    }
                case 4: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.offset = value;
                        else
                            delete message.offset;
                        continue;
                    }
                case 5: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.bytes()).length)
                            message.data = value;
                        else
                            delete message.data;
                        continue;
                    }
                case 6: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.length = value;
                        else
                            delete message.length;
                        continue;
                    }
                case 7: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.tsSec = value;
                        else
                            delete message.tsSec;
                        continue;
                    }
                case 8: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.tsNsec = value;
                        else
                            delete message.tsNsec;
                        continue;
                    }
                case 9: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.bytes()).length)
                            message.clientIp = value;
                        else
                            delete message.clientIp;
                        continue;
                    }
                case 10: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.clientPort = value;
                        else
                            delete message.clientPort;
                        continue;
                    }
                case 11: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.bytes()).length)
                            message.serverIp = value;
                        else
                            delete message.serverIp;
                        continue;
                    }
                case 12: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.uint32())
                            message.serverPort = value;
                        else
                            delete message.serverPort;
                        continue;
                    }
                case 13: {
                        if (wireType !== 0)
                            break;
                        if (value = reader.bool())
                            message.midStream = value;
                        else
                            delete message.midStream;
                        continue;
                    }
                case 14: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.reason = value;
                        else
                            delete message.reason;
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return StreamEvent;
    })();

    podspan.Ack = (function() {

        /**
         * Properties of an Ack.
         * @typedef {Object} podspan.Ack.$Properties
         * @property {number|Long|null} [seq] Ack seq
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of an Ack.
         * @memberof podspan
         * @interface IAck
         * @augments podspan.Ack.$Properties
         * @deprecated Use podspan.Ack.$Properties instead.
         */

        /**
         * Shape of an Ack.
         * @typedef {podspan.Ack.$Properties} podspan.Ack.$Shape
         */

        /**
         * Constructs a new Ack.
         * @memberof podspan
         * @classdesc Represents an Ack.
         * @constructor
         * @param {podspan.Ack.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Ack = function (properties) {
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Ack seq.
         * @member {number|Long} seq
         * @memberof podspan.Ack
         * @instance
         */
        Ack.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

        /**
         * Creates a new Ack instance using the specified properties.
         * @function create
         * @memberof podspan.Ack
         * @static
         * @param {podspan.Ack.$Properties=} [properties] Properties to set
         * @returns {podspan.Ack} Ack instance
         * @type {{
         *   (properties: podspan.Ack.$Shape): podspan.Ack & podspan.Ack.$Shape;
         *   (properties?: podspan.Ack.$Properties): podspan.Ack;
         * }}
         */
        Ack.create = function(properties) {
            return new Ack(properties);
        };

        /**
         * Encodes the specified Ack message. Does not implicitly {@link podspan.Ack.verify|verify} messages.
         * @function encode
         * @memberof podspan.Ack
         * @static
         * @param {podspan.Ack.$Properties} message Ack message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Ack.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                writer.uint32(/* id 1, wireType 0 =*/8).uint64(message.seq);
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes an Ack message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Ack
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Ack & podspan.Ack.$Shape} Ack
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Ack.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Ack();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 0)
                            break;
                        if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                            message.seq = value;
                        else
                            delete message.seq;
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Ack;
    })();

    podspan.Error = (function() {

        /**
         * Properties of an Error.
         * @typedef {Object} podspan.Error.$Properties
         * @property {string|null} [code] Error code
         * @property {string|null} [message] Error message
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */

        /**
         * Properties of an Error.
         * @memberof podspan
         * @interface IError
         * @augments podspan.Error.$Properties
         * @deprecated Use podspan.Error.$Properties instead.
         */

        /**
         * Shape of an Error.
         * @typedef {podspan.Error.$Properties} podspan.Error.$Shape
         */

        /**
         * Constructs a new Error.
         * @memberof podspan
         * @classdesc Represents an Error.
         * @constructor
         * @param {podspan.Error.$Properties=} [properties] Properties to set
         * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
         */
        const Error = function (properties) {
            if (properties)
                for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                    if (properties[keys[i]] != null && keys[i] !== "__proto__")
                        this[keys[i]] = properties[keys[i]];
        };

        /**
         * Error code.
         * @member {string} code
         * @memberof podspan.Error
         * @instance
         */
        Error.prototype.code = "";

        /**
         * Error message.
         * @member {string} message
         * @memberof podspan.Error
         * @instance
         */
        Error.prototype.message = "";

        /**
         * Creates a new Error instance using the specified properties.
         * @function create
         * @memberof podspan.Error
         * @static
         * @param {podspan.Error.$Properties=} [properties] Properties to set
         * @returns {podspan.Error} Error instance
         * @type {{
         *   (properties: podspan.Error.$Shape): podspan.Error & podspan.Error.$Shape;
         *   (properties?: podspan.Error.$Properties): podspan.Error;
         * }}
         */
        Error.create = function(properties) {
            return new Error(properties);
        };

        /**
         * Encodes the specified Error message. Does not implicitly {@link podspan.Error.verify|verify} messages.
         * @function encode
         * @memberof podspan.Error
         * @static
         * @param {podspan.Error.$Properties} message Error message or plain object to encode
         * @param {$protobuf.Writer} [writer] Writer to encode to
         * @returns {$protobuf.Writer} Writer
         */
        Error.encode = function (message, writer, _depth) {
            if (!writer)
                writer = $Writer.create();
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $util.recursionLimit)
                throw $Error("max depth exceeded");
            if (message.code != null && $Object.hasOwnProperty.call(message, "code") && message.code !== "")
                writer.uint32(/* id 1, wireType 2 =*/10).string(message.code);
            if (message.message != null && $Object.hasOwnProperty.call(message, "message") && message.message !== "")
                writer.uint32(/* id 2, wireType 2 =*/18).string(message.message);
            if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                for (let i = 0; i < message.$unknowns.length; ++i)
                    writer.raw(message.$unknowns[i]);
            return writer;
        };

        /**
         * Decodes an Error message from the specified reader or buffer.
         * @function decode
         * @memberof podspan.Error
         * @static
         * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
         * @param {number} [length] Message length if known beforehand
         * @returns {podspan.Error & podspan.Error.$Shape} Error
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        Error.decode = function (reader, length, _end, _depth, _target) {
            if (!(reader instanceof $Reader))
                reader = $Reader.create(reader);
            if (_depth === $undefined)
                _depth = 0;
            if (_depth > $Reader.recursionLimit)
                throw $Error("max depth exceeded");
            let end, message, value;
            if (length === $undefined)
                end = reader.len;
            else {
                end = reader.pos + length;
                if (end > reader.len)
                    throw $RangeError("index out of range");
                length = reader.len;
                reader.len = end;
            }
            message = _target || new $root.podspan.Error();
            while (reader.pos < end) {
                let start = reader.pos;
                let tag = reader.tag();
                if (tag === _end) {
                    _end = $undefined;
                    break;
                }
                let wireType = tag & 7;
                switch (tag >>>= 3) {
                case 1: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.code = value;
                        else
                            delete message.code;
                        continue;
                    }
                case 2: {
                        if (wireType !== 2)
                            break;
                        if ((value = reader.stringVerify()).length)
                            message.message = value;
                        else
                            delete message.message;
                        continue;
                    }
                }
                reader.skipType(wireType, _depth, tag);
                if (!reader.discardUnknown) {
                    $util.makeProp(message, "$unknowns", false);
                    (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                }
            }
            if (length !== $undefined) {
                if (reader.pos !== end)
                    throw $RangeError("index out of range");
                reader.len = length;
            }
            if (_end !== $undefined)
                throw $Error("missing end group");
            return message;
        };

        return Error;
    })();

    return podspan;
})();

export {
  $root as default
};
