"""Human names for the codes stored in the database, translated at render time."""
from flask_babel import lazy_gettext as _l

NAMES = {
    # organization kinds
    "farm_household": _l("Farm household"), "cooperative": _l("Cooperative"), "enterprise": _l("Enterprise"),
    "retailer": _l("Retailer"), "tourist_outlet": _l("Tourist outlet"), "authority": _l("Authority"),
    "certifier": _l("Certifier"),
    # site kinds
    "rice_field": _l("Rice field"), "vegetable_plot": _l("Vegetable plot"), "field_crop_plot": _l("Field crop plot"),
    "orchard": _l("Orchard"), "flower_field": _l("Flower field"), "brackish_pond": _l("Brackish-water pond"),
    "freshwater_pond": _l("Freshwater pond"), "river_cage": _l("River cage"), "forest_plot": _l("Forest plot"),
    "processing_facility": _l("Processing facility"), "packhouse": _l("Packhouse"), "warehouse": _l("Warehouse"),
    "store": _l("Store"),
    # farming methods
    "extensive": _l("Extensive"), "semi_intensive": _l("Semi-intensive"), "intensive": _l("Intensive"),
    "high_tech": _l("High-tech"),
    # schemes
    "vietgap": "VietGAP", "globalgap": "GlobalG.A.P.", "organic": _l("Organic"), "halal": "Halal",
    # steps
    "planting": _l("Planting"), "sowing": _l("Sowing"), "orchard_season": _l("Season start: flowering and fruit set"),
    "stocking": _l("Pond stocking"), "input_application": _l("Input application"),
    "harvest": _l("Harvest"), "packing": _l("Packing"), "unpacking": _l("Unpacking"),
    "transformation": _l("Processing"), "storing": _l("Cooling and storage"), "shipping": _l("Shipping"),
    "receiving": _l("Receiving"), "destroying": _l("Destroyed"), "error_declaration": _l("Correction"),
    # processes
    "milling": _l("Milling"), "drying": _l("Drying"), "freezing": _l("Freezing"), "filleting": _l("Filleting"),
    "peeling": _l("Peeling"), "fermenting": _l("Fermenting (e.g. fish sauce)"), "mixing": _l("Mixing"),
    "grading": _l("Grading and repacking"), "cooking": _l("Cooking"), "other": _l("Other"),
    # business documents
    "desadv": _l("Delivery note"), "inv": _l("Invoice"), "po": _l("Purchase order"), "bol": _l("Bill of lading"),
    # shipment states and correction reasons
    "in_transit": _l("In transit"), "received": _l("Received"), "cancelled": _l("Cancelled"),
    "incorrect_data": _l("Wrong details"), "did_not_occur": _l("Did not happen"),
    # recall notice roles
    "maker": _l("Made it"), "receiver": _l("Received it"),
    # input categories
    "fertiliser": _l("Fertiliser"), "pesticide": _l("Pesticide"), "feed": _l("Feed"),
    "veterinary_drug": _l("Veterinary drug"),
    # certificate statuses
    "active": _l("Valid"), "expired": _l("Expired"), "not_yet_valid": _l("Not yet valid"),
    "suspended": _l("Suspended"), "revoked": _l("Revoked"),
    # OCOP levels
    "ward": _l("Ward"), "city": _l("City"), "national": _l("National"),
    # verdicts of a label that does not check out
    "tampered": _l("altered"), "not_issued": _l("not issued by us"), "unknown_key": _l("unknown signature"),
    "revoked_key": _l("signed with a revoked key"), "foreign_host": _l("leads to another website"),
    "malformed": _l("damaged or incomplete"),
    # roles
    "producer": _l("Producer"), "inspector": _l("Inspector"), "admin": _l("Ward administrator"),
}


# Units as recorded (Vietnamese words) and as an English reader counts them; the Vietnamese page keeps the word.
UNIT_NAMES = {"tấn": _l("t"), "tạ": _l("quintal"), "con": _l("pcs"), "bó": _l("bunches"), "cành": _l("stems"),
              "hộp": _l("boxes"), "túi": _l("bags"), "chai": _l("bottles"), "lít": _l("L"), "cây": _l("trees"),
              "kg/sào": _l("kg/sào (360 m²)"), "lít/ha": _l("L/ha"), "tấn/ha": _l("t/ha"), "kg/gốc": _l("kg/tree"),
              "kg/ngày": _l("kg/day"), "g/kg thức ăn": _l("g/kg feed")}


def unit_name(unit) -> str:
    return str(UNIT_NAMES[unit]) if unit in UNIT_NAMES else (unit or "")


def name_of(code) -> str:
    return str(NAMES.get(code, code or ""))
